"""Tutorial import path for the autoencoder models (re-exports :mod:`sigma.embedding`).

Examples
--------
>>> from sigma.models import AutoEncoder, VariationalAutoEncoder
>>> AutoEncoder.__module__
'sigma.embedding.autoencoder'
"""

from __future__ import annotations

__all__ = ["AutoEncoder", "VariationalAutoEncoder"]


def __getattr__(name: str):
    if name in __all__:
        from sigma.embedding import autoencoder

        return getattr(autoencoder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
