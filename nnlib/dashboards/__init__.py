"""Widget plumbing and plotting helpers that the notebooks call, one module per notebook.

Each callback's logic is a plain, unit-tested function; the ipywidgets wiring on top of it is thin.
"""
