"""Exports of a formula tree, one module per target (the tree itself and its evaluation live in
:mod:`lpzero_sr.formula`; every operator's meaning in :mod:`lpzero_sr.operators`):

* :mod:`~lpzero_sr.export.text`: the readable one-line text and the LaTeX;
* :mod:`~lpzero_sr.export.sympy`: the unevaluated sympy expression and sympy text that ``sympy.parse_expr`` reads back;
* :mod:`~lpzero_sr.export.numpy`: ``sympy.lambdify`` to numpy, keeping the tree's association;
* :mod:`~lpzero_sr.export.torch`: the proxy as a torch ``nn.Module`` and as standalone torch source;
* :mod:`~lpzero_sr.export.julia`: operator definitions and infix text for PySR, and the reader of PySR's equations.

Each module imports its heavy library (sympy, torch) itself; importing this package imports neither.
"""
