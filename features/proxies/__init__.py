"""Classic zero-cost proxies, one module per family; importing this package registers them all in
:data:`PROXIES`."""

from lpzero_sr.features.proxies import activation, attention, gradient, jacobian, lpzero, synflow, weights
from lpzero_sr.features.proxies.base import PROXIES, Proxy, ProxyContext, proxy

__all__ = [
    "PROXIES",
    "Proxy",
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
