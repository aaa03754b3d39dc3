"""Tutorial import path ``sigma.utils.loadtem`` (re-exports only)."""

from ..datasets import TEMDataset

__all__ = ["TEMDataset"]
