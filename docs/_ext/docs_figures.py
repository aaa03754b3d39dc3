"""Figure plumbing for the pages' ``.. plot::`` code.

:mod:`sigma.plot` builds figures without pyplot so that nothing piles up in a notebook. The plot
directive only collects pyplot figures, so while the documentation builds,
:func:`route_sigma_figures_to_pyplot` makes the builders create their figures through pyplot.
The code shown on the pages is then exactly what a user types.
"""

from __future__ import annotations


def route_sigma_figures_to_pyplot() -> None:
    """Make :func:`sigma.plot.static.new_figure` create pyplot-managed figures."""
    import matplotlib.pyplot as plt

    import sigma.plot.static as static

    def new_figure(figsize=(6, 4), **kw):
        return plt.figure(figsize=figsize, **kw)

    new_figure.__doc__ = static.new_figure.__doc__
    static.new_figure = new_figure
