"""Figures of clusters: phase map, cluster spectra and the per-cluster distribution."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, _single_cmap, new_figure
from .colors import NOISE_COLOR, cluster_colors, label_rgba
from .dataset import sum_spectrum_lines

log = logging.getLogger(__name__)


def _nav(ps) -> np.ndarray:
    ds = ps.dataset
    img = getattr(ds, "analysis_nav_img", None)
    if img is None:
        img = np.zeros(np.asarray(ps.labels).shape, dtype=float)
    return np.asarray(img, dtype=float)


def plot_phase_map(ps, alpha: float = 0.5, ax=None, legend: bool = True, highlight=None):
    """Cluster map coloured like every other view, over the navigation image.

    Parameters
    ----------
    ps : PixelSegmenter
    alpha : float
        Opacity of the cluster colours (0: only the navigation image, 1: only the clusters).
    highlight : sequence of int, optional
        Show only these clusters in colour.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(analysis_nav_img=np.ones((2, 3)))
    >>> ps = SimpleNamespace(labels=np.array([[0, 0, 1], [1, -1, 0]]), colors={0: "#ff0000", 1: "#0000ff"},
    ...                      dataset=ds)
    >>> plot_phase_map(ps, alpha=1.0).images[1].get_array()[0, 2].tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    if not 0 <= float(alpha) <= 1:
        raise bad_value("alpha_cluster_map", alpha, "an opacity between 0 and 1")
    labels = np.asarray(ps.labels)
    cols = cluster_colors(ps)
    ax = _ax_or_new(ax, (6, 5))
    ax.imshow(_nav(ps), cmap="gray", interpolation="nearest")
    rgba = label_rgba(labels, cols, alpha=float(alpha), noise_alpha=0.0)
    if highlight is not None:
        rgba[~np.isin(labels, list(highlight)), 3] = 0
    ax.imshow(rgba, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("Phase map")
    if legend:
        from matplotlib.patches import Patch

        ids = [i for i in cols if i >= 0 and (highlight is None or i in highlight)]
        if len(ids) <= 40:
            handles = [Patch(color=cols[i], label=str(i)) for i in ids]
            ax.legend(handles=handles, title="cluster", fontsize=7, loc="center left",
                      bbox_to_anchor=(1.0, 0.5), frameon=False, ncols=1 + len(ids) // 20)
    return ax


def cluster_spectra(ps, kind: str = "mean"):
    """``(cluster_ids, (n, C) spectra)`` from ``ps.get_cluster_spectra`` in array form.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> ids, spectra = cluster_spectra(ps, kind="sum")
    >>> ids, spectra.shape
    ([0, 1, 2], (3, 256))
    """
    return [int(i) for i in ps.cluster_ids], np.asarray(ps.get_cluster_spectra(kind=kind))


def plot_cluster_spectra(ps, cluster_ids=None, normalisation: bool = True, spectra_range=None,
                         ax=None, kind: str = "mean", annotate: bool = True):
    """Mean (or sum) spectrum of each cluster in its cluster colour on the real energy axis.

    Parameters
    ----------
    cluster_ids : sequence of int, optional
        Clusters to draw (default all).
    normalisation : bool
        Scale each spectrum to a maximum of 1.
    spectra_range : (float, float), optional
        x limits in keV (default: the whole axis).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> ax = plot_cluster_spectra(ps, [0, 2], spectra_range=(0.5, 8.0))
    >>> [line.get_label() for line in ax.get_lines()][:2], [float(x) for x in ax.get_xlim()]
    (['cluster 0', 'cluster 2'], [0.5, 8.0])
    """
    ids, spec = cluster_spectra(ps, kind)
    energy = np.asarray(ps.dataset.energy_axis, dtype=float)
    cols = cluster_colors(ps)
    want = ids if cluster_ids is None else [int(i) for i in cluster_ids]
    ax = _ax_or_new(ax, (8, 3.5))
    for i in want:
        if i not in ids:
            raise bad_value("cluster_ids", i, f"ids among {ids}")
        y = spec[ids.index(i)].astype(float)
        if normalisation and np.nanmax(y) > 0:
            y = y / np.nanmax(y)
        ax.plot(energy, y, color=cols.get(i, NOISE_COLOR), lw=1.0, label=f"cluster {i}")
    lo, hi = (energy[0], energy[-1]) if spectra_range is None else spectra_range
    ax.set_xlim(float(lo), float(hi))
    ax.set_xlabel("Energy (keV)")
    ax.set_ylabel("Normalised intensity" if normalisation else f"Intensity ({kind})")
    if annotate:
        top = ax.get_ylim()[1]
        for name, e in sum_spectrum_lines(ps.dataset).items():
            if lo <= e <= hi:
                ax.axvline(e, color="0.6", lw=0.6, ls=":")
                ax.text(e, top, name, rotation=90, fontsize=7, ha="center", va="top", color="0.3")
    if len(want) <= 12:
        ax.legend(fontsize=7, frameon=False)
    return ax


def plot_cluster_distribution(ps, max_clusters: int = 40, kind: str = "mean"):
    """One row per cluster: its pixels, its mean feature values, its spectrum (all in its colour).

    Examples
    --------
    See :func:`sigma.gui.gui.show_cluster_distribution`.
    """
    labels = np.asarray(ps.labels)
    cols = cluster_colors(ps)
    ids, spec = cluster_spectra(ps, kind)
    ids_show = ids[:max_clusters]
    feats = getattr(ps.dataset, "normalised_elemental_data", None)
    names = list(getattr(ps.dataset, "feature_list", []))
    energy = getattr(ps.dataset, "energy_axis", None)
    fmeans = None
    if feats is not None and hasattr(ps, "feature_means"):
        fmeans = np.asarray(ps.feature_means)
    ncol = 3 if energy is not None else 2
    nrow = max(len(ids_show), 1)
    fig = new_figure((4.2 * ncol, 2.4 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False,
                        gridspec_kw={"left": 0.03, "right": 0.98, "wspace": 0.25, "hspace": 0.75,
                                     "top": 1 - 0.3 / (2.4 * nrow), "bottom": 0.6 / (2.4 * nrow)})
    n_px = labels.size
    for r, i in enumerate(ids_show):
        m = labels == i
        a0, a1 = axes[r, 0], axes[r, 1]
        a0.imshow(np.where(m, 1.0, 0.0), cmap=_single_cmap(cols[i]), vmin=0, vmax=1, interpolation="nearest")
        a0.set_title(f"cluster {i}: {int(m.sum()):,} px ({100 * m.sum() / n_px:.1f}%)", fontsize=8)
        a0.set_axis_off()
        if feats is not None and m.any():
            mean = fmeans[ids.index(i)] if fmeans is not None else np.asarray(feats)[m].mean(axis=0)
            a1.bar(np.arange(len(mean)), mean, color=cols[i])
            a1.set_xticks(np.arange(len(mean)), names[: len(mean)], rotation=90, fontsize=7)
            a1.axhline(0, color="0.3", lw=0.5)
        a1.set_title("mean features", fontsize=8)
        if ncol == 3:
            a2 = axes[r, 2]
            a2.plot(np.asarray(energy, dtype=float), spec[ids.index(i)], color=cols[i], lw=0.9)
            a2.set_title(f"{kind} spectrum", fontsize=8)
            a2.set_xlabel("Energy (keV)", fontsize=7)
            a2.tick_params(labelsize=7)
    if len(ids) > max_clusters:
        log.info("plot_cluster_distribution: showing the first %d of %d clusters", max_clusters, len(ids))
    return fig
