"""Running a collection: the inbox walk and skip policy, the per-file pipeline, the worker processes,
the ledger, the cross-file checks and the run that ties them together.
"""
