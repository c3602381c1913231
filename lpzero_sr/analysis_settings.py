"""The defaults of :mod:`lpzero_sr.analyze`, written once in a module that imports nothing, so that the options of
``lpzero-sr analyze`` show them without importing matplotlib, pandas or scikit-learn."""

SIZE_COLUMNS = ("params", "flops", "params_nonemb")  # the size column: the first of these a table has
MI_BINS = 4  # 4 bins: 16 cells per pair, about 30 architectures per cell on 500-architecture benchmarks
STRATA = 5
SHUFFLES = 20
