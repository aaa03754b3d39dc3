"""Latent spaces of pixel feature vectors.

The autoencoder models live in :mod:`sigma.embedding.autoencoder` and the training loop in
:mod:`sigma.embedding.experiment`. Both need PyTorch, which is imported only when one of their
names is first used, so ``import sigma.embedding`` stays light.

Examples
--------
>>> import sigma.embedding as emb
>>> emb.Experiment.__name__
'Experiment'
"""

from __future__ import annotations

import importlib

_LAZY = {
    "AutoEncoder": "sigma.embedding.autoencoder",
    "VariationalAutoEncoder": "sigma.embedding.autoencoder",
    "Experiment": "sigma.embedding.experiment",
    "FeatureDataset": "sigma.embedding.experiment",
    "same_seeds": "sigma.embedding.experiment",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
