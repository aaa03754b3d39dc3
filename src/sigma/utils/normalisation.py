"""Tutorial import path ``sigma.utils.normalisation`` (re-exports only)."""

from ..preprocessing.normalisation import apply_chain, neighbour_averaging, softmax, zscore

__all__ = ["neighbour_averaging", "zscore", "softmax", "apply_chain"]
