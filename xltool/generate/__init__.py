"""Writing the locked workbooks: the writer (spec -> xlsx), the roster of agencies, one workbook per
roster row, and synthetic fills for samples and tests.
"""
