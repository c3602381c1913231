"""Classic zero-cost proxies, one module per family; importing this package registers them all in
:data:`PROXIES`."""

from lpzero_sr.features.proxies import activation, attention, gradient, jacobian, lpzero, synflow, weights
from lpzero_sr.features.proxies.base import PROXIES, ClassicProxy, ProxyContext, proxy

__all__ = [
    "PROXIES",
    "ClassicProxy",
    "ProxyContext",
    "activation",
    "attention",
    "gradient",
    "jacobian",
    "lpzero",
    "proxy",
    "synflow",
    "weights",
]
