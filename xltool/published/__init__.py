"""Published reports: reading them into canonical documents, and writing the publishable DOCX.

Every agency's report for past years exists only as published: a web page (HTML, or its text
copied from the page), a Word file or a PDF. Each reader here turns one format into the same
`Published` grid of cells, every cell with its provenance (`grid.py`); `match.py` is the one
place that maps such a grid onto a form's spec ids, anchored to the spec's labels; `importer.py`
checks the printed totals with the spec's rules and writes the canonical document (the same
form as ingest's, plus `provenance`). `docx_writer.py` goes the other way: a canonical document
as a Word file in the official layout.
"""
