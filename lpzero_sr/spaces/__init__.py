"""Search spaces: loaders of public benchmarks and model builders, registered in :data:`SPACES`.

Importing this package registers every space: ``flexibert``, ``lts-gpt2``, ``nb201-cifar10``,
``nb201-cifar100``, ``nb201-ImageNet16-120``, ``tiny-gpt2``; :func:`load_generic` reads a user's own space.
"""

from lpzero_sr.spaces import flexibert, lts_gpt2, nb_suite_zero, tiny_gpt2
from lpzero_sr.spaces.base import SPACES, Benchmark, Space, load_benchmark, resolve_data_dir
from lpzero_sr.spaces.generic import load_generic

__all__ = [
    "SPACES",
    "Benchmark",
    "Space",
    "flexibert",
    "load_benchmark",
    "load_generic",
    "lts_gpt2",
    "nb_suite_zero",
    "resolve_data_dir",
    "tiny_gpt2",
]
