"""Tutorial import path ``sigma.utils.visualisation`` (re-exports of :mod:`sigma.plot`)."""

from ..plot import *  # noqa: F403
from ..plot import __all__  # noqa: F401
