"""Tutorial import path: ``from sigma.src.segmentation import PixelSegmenter``.

A thin re-export of :class:`sigma.clustering.PixelSegmenter`.

Examples
--------
>>> from sigma.src.segmentation import PixelSegmenter
>>> PixelSegmenter.__module__
'sigma.clustering.segmenter'
"""

from sigma.clustering.segmenter import PixelSegmenter

__all__ = ["PixelSegmenter"]
