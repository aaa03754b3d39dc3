"""Matplotlib figure builders: no widgets, no pyplot state, savable as PNG.

Every builder takes results (a dataset, a segmenter, arrays) and returns a
:class:`matplotlib.figure.Figure` or draws on the ``ax`` it is given. Figures are created with
:class:`~matplotlib.figure.Figure` directly, so nothing accumulates in pyplot's figure list and
they can be built in any backend (save them with :func:`save_png` or :func:`figure_to_png`).
Cluster colours always come from :func:`sigma.plot.colors.cluster_colors`.

The builders live in one module per subject (:mod:`~sigma.plot.dataset`,
:mod:`~sigma.plot.latent`, :mod:`~sigma.plot.clusters`, :mod:`~sigma.plot.unmixing`); this
module gathers them.
"""

from ._figure import figure_to_png, new_figure, save_png
from .clusters import (
    cluster_spectra,
    plot_cluster_distribution,
    plot_cluster_spectra,
    plot_phase_map,
)
from .dataset import (
    plot_feature_maps,
    plot_intensity_maps,
    plot_nav_image,
    plot_pixel_distributions,
    plot_sum_spectrum,
    sum_spectrum_lines,
)
from .latent import gaussian_ellipses, plot_latent, plot_projection
from .unmixing import plot_abundance_map, plot_nmf

__all__ = [
    "cluster_spectra",
    "figure_to_png",
    "gaussian_ellipses",
    "new_figure",
    "plot_abundance_map",
    "plot_cluster_distribution",
    "plot_cluster_spectra",
    "plot_feature_maps",
    "plot_intensity_maps",
    "plot_latent",
    "plot_nav_image",
    "plot_nmf",
    "plot_phase_map",
    "plot_pixel_distributions",
    "plot_projection",
    "plot_sum_spectrum",
    "save_png",
    "sum_spectrum_lines",
]
