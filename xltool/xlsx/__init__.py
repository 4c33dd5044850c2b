"""Spreadsheet files as bytes and data: the guard that judges a returned file before anything parses
it (guard/), the readers that turn it into plain `WorkbookData` (fastread, fastsheet, ooxml; read.py
with openpyxl as the reference and fallback), the package plumbing both share (package.py: one zip,
each part read and parsed once), A1 names (cells.py), and returned.open_return, which guards and
reads a returned file in one pass. Knows nothing about forms.
"""
