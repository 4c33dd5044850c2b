"""Spreadsheet files as bytes and data: the guard that judges a returned file before anything parses
it, and the readers that turn it into plain `WorkbookData`. Knows nothing about forms.
"""
