"""Figures of NMF unmixing: weights per cluster, end-member spectra, abundance maps."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, new_figure
from .colors import palette

log = logging.getLogger(__name__)


def plot_nmf(weights, components, energy=None, cluster_ids=None, cluster_colours=None,
             component=None, normalise_components: bool = False):
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
        Colours of the cluster tick labels.
    component : int, optional
        Draw only this component's spectrum (all when None).

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_nmf(np.random.rand(4, 2), np.random.rand(2, 10))
    >>> len(fig.axes)
    2
    """
    w = np.asarray(getattr(weights, "values", weights), dtype=float)
    comp = np.asarray(getattr(components, "values", components), dtype=float)
    if w.ndim != 2 or comp.ndim != 2 or w.shape[1] != comp.shape[0]:
        raise bad_value("weights/components", (w.shape, comp.shape),
                        "(n_clusters, k) weights and (k, n_channels) components")
    k = comp.shape[0]
    ids = list(range(w.shape[0])) if cluster_ids is None else [int(i) for i in cluster_ids]
    x = np.arange(comp.shape[1]) if energy is None else np.asarray(energy, dtype=float)
    pal = palette(k)
    fig = new_figure((11, 4), layout="constrained")
    a0, a1 = fig.subplots(1, 2, width_ratios=[1, 1.4])
    bottom = np.zeros(w.shape[0])
    for j in range(k):
        a0.bar(np.arange(w.shape[0]), w[:, j], bottom=bottom, color=pal[j], label=f"component {j}")
        bottom += w[:, j]
    a0.set_xticks(np.arange(w.shape[0]), [str(i) for i in ids], fontsize=7, rotation=90)
    if cluster_colours:
        for t, i in zip(a0.get_xticklabels(), ids, strict=True):
            t.set_color(cluster_colours.get(i, "k"))
    a0.set_xlabel("cluster")
    a0.set_ylabel("weight")
    a0.legend(fontsize=7, frameon=False)
    a0.set_title("Weights of the components in each cluster")
    show = range(k) if component is None else [int(component)]
    for j in show:
        y = comp[j] / comp[j].max() if normalise_components and comp[j].max() > 0 else comp[j]
        a1.plot(x, y, color=pal[j], lw=1.0, label=f"component {j}")
    a1.set_xlabel("Energy (keV)" if energy is not None else "channel")
    a1.set_title("NMF components" if component is None else f"NMF component {component}")
    a1.legend(fontsize=7, frameon=False)
    return fig


def plot_abundance_map(abundance, component: int, ax=None, cmap: str = "viridis", title=None):
    """One component's ``(H, W)`` abundance map from an ``(H, W, k)`` array.

    Examples
    --------
    >>> import numpy as np
    >>> plot_abundance_map(np.random.rand(3, 4, 2), 1).get_title()
    'Abundance of component 1'
    """
    a = np.asarray(abundance, dtype=float)
    if a.ndim != 3 or not 0 <= int(component) < a.shape[-1]:
        raise bad_value("component", component, f"an index in [0, {a.shape[-1] if a.ndim == 3 else 0})")
    ax = _ax_or_new(ax, (6, 5))
    im = ax.imshow(a[..., int(component)], cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set_axis_off()
    ax.set_title(title or f"Abundance of component {component}")
    return ax
