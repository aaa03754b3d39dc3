"""Dataset objects of the tutorial: ``SEMDataset``, ``TEMDataset`` and ``ImageDataset``."""

from .base import NAV_FEATURE, SEMDataset, SpectrumDataset, TEMDataset
from .image import IMAGEDataset, ImageDataset

__all__ = ["NAV_FEATURE", "SEMDataset", "SpectrumDataset", "TEMDataset", "ImageDataset", "IMAGEDataset"]
