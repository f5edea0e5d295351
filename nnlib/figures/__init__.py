"""Figure code of the notebooks, one module per notebook; matplotlib only, no widgets.

A widget (``nnlib.widgets.<topic>``) builds its figure with these functions and moves the
artists they return; a plain cell displays the same figure at the default values.
"""
