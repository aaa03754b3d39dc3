"""Figure plumbing for the pages' ``.. plot::`` code.

:mod:`sigma.plot` builds figures without pyplot so that nothing piles up in a notebook. The plot
directive only collects pyplot figures, so while the documentation builds,
:func:`route_sigma_figures_to_pyplot` makes the builders create their figures through pyplot.
The code shown on the pages is then exactly what a user types.
"""

from __future__ import annotations


def route_sigma_figures_to_pyplot() -> None:
    """Make :func:`sigma.plot.new_figure` create pyplot-managed figures, in every builder module."""
    import importlib
    import pkgutil

    import matplotlib.pyplot as plt

    import sigma.plot
    from sigma.plot import _figure

    original = _figure.new_figure

    def new_figure(figsize=(6, 4), **kw):
        return plt.figure(figsize=figsize, **kw)

    new_figure.__doc__ = original.__doc__
    # the builder modules only: sigma.plot.new_figure itself stays the documented original
    for info in pkgutil.iter_modules(sigma.plot.__path__):
        mod = importlib.import_module(f"sigma.plot.{info.name}")
        if getattr(mod, "new_figure", None) is original:
            mod.new_figure = new_figure
