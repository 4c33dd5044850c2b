"""xltool: locked Excel templates for official statistical returns, and their ingestion."""

__version__ = "0.2.0"
