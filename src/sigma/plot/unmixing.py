"""Figures of NMF unmixing: weights per cluster, end-member spectra, abundance maps."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, new_figure
from .colors import palette

log = logging.getLogger(__name__)


def plot_nmf(weights, components, energy=None, cluster_ids=None, cluster_colours=None,
             component=None, normalise_components: bool = False, energy_range=None):
    """NMF weights per cluster (stacked bars) and the end-member spectra.

    Parameters
    ----------
    weights : (n_clusters, n_components) array
    components : (n_components, C) array
    energy : (C,) array, optional
        Energy axis in keV (channel index otherwise).
    cluster_ids : sequence of int, optional
        Row labels of ``weights``.
    cluster_colours : dict, optional
        Colours of the clusters, drawn as a strip of squares under their ticks (the tick labels
        stay black, readable even for light colours).
    component : int, optional
        Draw only this component's spectrum (all when None).
    energy_range : (float, float), optional
        x limits of the spectra (default: the useful range of the components).

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_nmf(np.random.rand(4, 2), np.random.rand(2, 10))
    >>> len(fig.axes), fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    (2, 'cluster', 'weight (a.u.)')
    """
    from .annotate import useful_energy_range

    w = np.asarray(getattr(weights, "values", weights), dtype=float)
    comp = np.asarray(getattr(components, "values", components), dtype=float)
    if w.ndim != 2 or comp.ndim != 2 or w.shape[1] != comp.shape[0]:
        raise bad_value("weights/components", (w.shape, comp.shape),
                        "(n_clusters, k) weights and (k, n_channels) components")
    k = comp.shape[0]
    n = w.shape[0]
    ids = list(range(n)) if cluster_ids is None else [int(i) for i in cluster_ids]
    x = np.arange(comp.shape[1]) if energy is None else np.asarray(energy, dtype=float)
    pal = palette(k)
    # at least 0.13 in (13 px) per cluster, so 50 cluster ids stay readable
    bars_w = max(4.4, 0.13 * n + 1.0)
    fig = new_figure((bars_w + 6.2, 4.2), layout="constrained")
    a0, a1 = fig.subplots(1, 2, width_ratios=[bars_w, 6.2])
    bottom = np.zeros(n)
    xs = np.arange(n)
    for j in range(k):
        a0.bar(xs, w[:, j], bottom=bottom, color=pal[j], label=f"component {j}", width=0.8)
        bottom += w[:, j]
    a0.set_xticks(xs, [str(i) for i in ids], fontsize=7, rotation=90 if n > 12 else 0)
    a0.set_xlim(-0.7, n - 0.3)
    top = float(bottom.max()) if n else 1.0
    top = top if top > 0 else 1.0
    if cluster_colours:
        # a strip of cluster colours just above the tick labels, inside the axes
        a0.set_ylim(-0.06 * top, 1.04 * top)
        a0.scatter(xs, np.full(n, -0.03 * top), marker="s", s=24, zorder=3,
                   c=[cluster_colours.get(i, "#000000") for i in ids], edgecolors="0.3", linewidths=0.3)
        a0.axhline(0, color="0.3", lw=0.6)
    else:
        a0.set_ylim(0, 1.04 * top)
    a0.set_xlabel("cluster")
    a0.set_ylabel("weight (a.u.)")
    a0.set_title("Weights of the components in each cluster (colours as on the right)", fontsize=10)
    show = range(k) if component is None else [int(component)]
    for j in show:
        y = comp[j] / comp[j].max() if normalise_components and comp[j].max() > 0 else comp[j]
        a1.plot(x, y, color=pal[j], lw=1.0, label=f"component {j}")
    if energy is not None:
        lo, hi = useful_energy_range(x, comp.sum(axis=0)) if energy_range is None else energy_range
        a1.set_xlim(lo, hi)
    a1.set_ylim(bottom=0)
    a1.set_xlabel("Energy (keV)" if energy is not None else "channel")
    a1.set_ylabel("intensity / its maximum" if normalise_components else "intensity (a.u.)")
    a1.set_title("NMF components" if component is None else f"NMF component {component}", fontsize=10)
    a1.legend(fontsize=7, frameon=False)
    return fig


def abundance_fractions(abundance, components) -> np.ndarray:
    """Per-pixel fraction of the modelled counts that each component explains.

    A pixel fitted as ``sum_j a_j * components[j]`` gets ``f_j = a_j * sum(components[j]) /
    sum_k a_k * sum(components[k])``: fractions in [0, 1] that sum to 1 (0 where nothing is
    modelled), whatever the scale of the NMF components.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[[2.0, 1.0], [0.0, 0.0]]])  # (1, 2, 2): two pixels, two components
    >>> comp = np.array([[1.0, 1.0], [0.0, 2.0]])  # both components hold 2 counts in total
    >>> abundance_fractions(a, comp).astype(float).round(3).tolist()
    [[[0.667, 0.333], [0.0, 0.0]]]
    """
    a = np.asarray(abundance, dtype=np.float64)
    mass = np.asarray(getattr(components, "values", components), dtype=np.float64).sum(axis=1)
    contrib = a * mass
    total = contrib.sum(axis=-1, keepdims=True)
    return np.divide(contrib, total, out=np.zeros_like(contrib), where=total > 0).astype(np.float32)


#: Colour-bar labels of the two quantities an abundance map may show.
ABUNDANCE_UNITS = {
    "fraction": "fraction of the pixel's modelled counts",
    "weight": "NNLS weight (× the component spectrum)",
}


def plot_abundance_map(abundance, component: int, ax=None, cmap: str = "viridis", title=None,
                       units: str | None = None, calibration=None, vmax=None):
    """One component's ``(H, W)`` abundance map from an ``(H, W, k)`` array.

    Parameters
    ----------
    units : str, optional
        Colour-bar label saying what the values are (see :data:`ABUNDANCE_UNITS`).
    calibration : (size, unit), dataset or segmenter, optional
        For a scale bar.
    vmax : float, optional
        Top of the colour scale (e.g. 1 for fractions).

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_abundance_map(np.random.rand(3, 4, 2), 1, units=ABUNDANCE_UNITS["fraction"], vmax=1)
    >>> ax.get_title(), ax.images[0].colorbar.ax.get_ylabel()
    ('Abundance of component 1', "fraction of the pixel's modelled counts")
    """
    from ._figure import image_figsize
    from .annotate import add_scale_bar

    a = np.asarray(abundance, dtype=float)
    if a.ndim != 3 or not 0 <= int(component) < a.shape[-1]:
        raise bad_value("component", component, f"an index in [0, {a.shape[-1] if a.ndim == 3 else 0})")
    ax = _ax_or_new(ax, image_figsize(a.shape[:2], extra_width=1.3))
    im = ax.imshow(a[..., int(component)], cmap=cmap, interpolation="nearest", vmin=0, vmax=vmax)
    cb = ax.figure.colorbar(im, ax=ax, shrink=0.85, pad=0.02)
    cb.set_label(units or "abundance", fontsize=8)
    ax.set_axis_off()
    ax.set_title(title or f"Abundance of component {component}")
    if calibration is not None:
        add_scale_bar(ax, calibration, a.shape[1])
    return ax
