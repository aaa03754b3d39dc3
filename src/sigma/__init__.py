"""SIGMA2: phase maps from EDS spectrum images.

The package is layered: :mod:`sigma.io` reads files, :mod:`sigma.preprocessing`,
:mod:`sigma.embedding`, :mod:`sigma.clustering` and :mod:`sigma.unmixing` hold the numeric
core, :mod:`sigma.datasets` wraps them in the tutorial's dataset objects, :mod:`sigma.plot`
builds figures and :mod:`sigma.gui` wires Jupyter widgets to the public API. The tutorial's
import paths (``sigma.utils.load``, ``sigma.src.segmentation``, ``sigma.gui.gui``...) are thin
re-exports of that core.

Examples
--------
>>> import sigma
>>> isinstance(sigma.__version__, str)
True
"""

from importlib.metadata import PackageNotFoundError, version

#: Name of the distribution on PyPI ("sigma2" is an unrelated project there).
DISTRIBUTION = "sigma2-eds"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "DISTRIBUTION"]
