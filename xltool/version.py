"""The version of xltool, recorded in every document and workbook it writes."""

__version__ = "0.4.0"
