"""Tutorial import path ``sigma.utils.load`` (re-exports only)."""

from ..datasets import IMAGEDataset, ImageDataset, SEMDataset, TEMDataset

__all__ = ["SEMDataset", "TEMDataset", "ImageDataset", "IMAGEDataset"]
