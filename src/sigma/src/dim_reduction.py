"""Tutorial import path ``sigma.src.dim_reduction``; see :mod:`sigma.embedding.experiment`.

Examples
--------
>>> from sigma.src.dim_reduction import Experiment
>>> Experiment.__module__
'sigma.embedding.experiment'
"""

from sigma.embedding.experiment import Experiment

__all__ = ["Experiment"]
