"""Errors that the CLI turns into one clear line (no traceback)."""


class LpzeroError(Exception):
    """Base class for user-facing errors: bad input, missing data, unusable configuration."""


class TableError(LpzeroError):
    """A statistics table that cannot be used as given."""


class DataError(LpzeroError):
    """A benchmark file that is missing, corrupt or fails its checksum."""


class ConfigError(LpzeroError):
    """An architecture config that its search space cannot build."""


class NasError(LpzeroError):
    """A search that cannot run or resume as asked (bad settings, a journal from another run, no candidates)."""
