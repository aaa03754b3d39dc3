"""Tutorial import path ``sigma.src.utils``; see :mod:`sigma.embedding.experiment`.

Examples
--------
>>> from sigma.src.utils import FeatureDataset, same_seeds
>>> same_seeds(2)
"""

from sigma.embedding.experiment import FeatureDataset, same_seeds

__all__ = ["FeatureDataset", "same_seeds"]
