"""Search spaces: loaders of public benchmarks and model builders, registered in :data:`SPACES`.

Importing this package registers every space: ``flexibert``, ``lts-gpt2``, ``tiny-gpt2`` and one benchmark per
NAS-Bench-Suite-Zero task, named ``<space>-<task>`` (``nb101-cifar10``, ``nb201-cifar10``, ``nb201-cifar100``,
``nb201-ImageNet16-120``, ``nb301-cifar10``, ``tnb101-micro-<task>``, ``tnb101-macro-<task>``; see
:data:`lpzero_sr.spaces.nb_suite_zero.TASKS`); :func:`load_generic` reads a user's own space.
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
