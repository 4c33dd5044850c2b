"""The form: its spec (the one source of truth), the layout derived from it (spec -> cells), and the
canonical JSON document and JSON Schema derived from both.
"""
