"""What is wrong with a return: identify its form and edition, then the check units (structure, types,
blanks, metadata, formulas, identities, previous year), each with its own finding codes.
"""
