"""Recalculation from the template's own formulas (never a returned file's): the `formulas` reference
model, the fast exact evaluator held to it, and their one result type.
"""
