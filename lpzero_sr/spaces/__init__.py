"""Search spaces: loaders of public benchmarks and model builders, registered in :data:`SPACES`.

Importing this package registers every space: ``flexibert``, ``lts-gpt2``, ``tiny-gpt2``, ``tiny-llama``,
``tiny-llama-subnets`` and one benchmark per NAS-Bench-Suite-Zero task, named ``<space>-<task>`` (``nb101-cifar10``,
``nb201-cifar10``, ``nb201-cifar100``, ``nb201-ImageNet16-120``, ``nb301-cifar10``, ``tnb101-micro-<task>``,
``tnb101-macro-<task>``; see :data:`lpzero_sr.spaces.nb_suite_zero.TASKS`); :func:`load_generic` reads a user's own
space, :func:`load_subnet_space` sub-networks of a user's checkpoint; :func:`get_space` takes a name or a space file.
"""

from lpzero_sr.spaces import flexibert, llama, lts_gpt2, nb_suite_zero, subnet, tiny_gpt2
from lpzero_sr.spaces.base import SPACE_FILES, SPACES, Benchmark, Space, get_space, load_benchmark, resolve_data_dir
from lpzero_sr.spaces.generic import load_generic
from lpzero_sr.spaces.subnet import load_subnet_space

__all__ = [
    "SPACES",
    "SPACE_FILES",
    "Benchmark",
    "Space",
    "flexibert",
    "get_space",
    "llama",
    "load_benchmark",
    "load_generic",
    "load_subnet_space",
    "lts_gpt2",
    "nb_suite_zero",
    "resolve_data_dir",
    "subnet",
    "tiny_gpt2",
]
