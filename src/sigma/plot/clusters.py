"""Figures of clusters: phase map, cluster spectra and the per-cluster distribution."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, _single_cmap, image_figsize, new_figure
from .colors import NOISE_COLOR, cluster_colors, label_rgba
from .dataset import sum_spectrum_lines

log = logging.getLogger(__name__)


def _nav(ps) -> np.ndarray:
    ds = ps.dataset
    img = getattr(ds, "analysis_nav_img", None)
    if img is None:
        img = np.zeros(np.asarray(ps.labels).shape, dtype=float)
    return np.asarray(img, dtype=float)


def measured_pixels(ps, labels) -> int:
    """Pixels an area share is a share of: those the dataset did not exclude (outside the
    scan, or outside a selected-area map inside a larger frame: no area of any phase).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> lab = np.array([[0, -1], [1, -1]])
    >>> measured_pixels(SimpleNamespace(excluded_mask=lab == -1), lab), measured_pixels(object(), lab)
    (2, 4)
    """
    excluded = getattr(ps, "excluded_mask", None)
    return max(int(np.size(labels)) - (0 if excluded is None else int(np.count_nonzero(excluded))), 1)


def plot_phase_map(ps, alpha: float = 0.5, ax=None, legend: bool = True, highlight=None,
                   scale_bar: bool = True, title: str = "Phase map"):
    """Cluster map coloured like every other view, over the navigation image.

    Parameters
    ----------
    ps : PixelSegmenter
    alpha : float
        Opacity of the cluster colours (0: only the navigation image, 1: only the clusters).
    legend : bool
        A legend of every shown cluster (id, name once known, area fraction of the pixels
        the dataset did not exclude) beside the map.
    highlight : sequence of int, optional
        Show only these clusters in colour.
    scale_bar : bool
        A scale bar from the dataset's calibration (when the file has one).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ds = SimpleNamespace(analysis_nav_img=np.ones((2, 3)))
    >>> ps = SimpleNamespace(labels=np.array([[0, 0, 1], [1, -1, 0]]), colors={0: "#ff0000", 1: "#0000ff"},
    ...                      dataset=ds)
    >>> ax = plot_phase_map(ps, alpha=1.0)
    >>> ax.images[1].get_array()[0, 2].tolist()
    [0.0, 0.0, 1.0, 1.0]
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['0 (50.0 %)', '1 (33.3 %)']
    >>> ps.excluded_mask = ps.labels == -1  # never measured: not part of any phase's area
    >>> [t.get_text() for t in plot_phase_map(ps).get_legend().get_texts()]
    ['0 (60.0 %)', '1 (40.0 %)']
    """
    from .annotate import add_scale_bar, cluster_label

    if not 0 <= float(alpha) <= 1:
        raise bad_value("alpha_cluster_map", alpha, "an opacity between 0 and 1")
    labels = np.asarray(ps.labels)
    cols = cluster_colors(ps)
    ids = [i for i in cols if i >= 0 and (highlight is None or i in highlight)]
    ncol = 1 + (len(ids) - 1) // 25 if legend and ids else 0
    ax = _ax_or_new(ax, image_figsize(labels.shape, extra_width=1.2 * ncol))
    ax.imshow(_nav(ps), cmap="gray", interpolation="nearest")
    rgba = label_rgba(labels, cols, alpha=float(alpha), noise_alpha=0.0)
    if highlight is not None:
        rgba[~np.isin(labels, list(highlight)), 3] = 0
    ax.imshow(rgba, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)
    if scale_bar:
        add_scale_bar(ax, ps, labels.shape[1])
    if legend and ids:
        from matplotlib.patches import Patch

        n_px = measured_pixels(ps, labels)
        counts = dict(zip(*np.unique(labels, return_counts=True), strict=True))
        handles = [Patch(color=cols[i], label=f"{cluster_label(ps, i)} ({100 * counts.get(i, 0) / n_px:.1f} %)")
                   for i in ids]
        ax.legend(handles=handles, title="cluster (area)", fontsize=7, title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.02, 1.0), frameon=False, ncols=ncol, handlelength=1.0, handletextpad=0.4,
                  columnspacing=0.8, borderaxespad=0.0)
    return ax


def cluster_spectra(ps, kind: str = "mean"):
    """``(cluster_ids, (n, C) spectra)`` from ``ps.get_cluster_spectra`` in array form.

    No progress bar is shown (figures are drawn inside widgets that have their own).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> ids, spectra = cluster_spectra(ps, kind="sum")
    >>> ids, spectra.shape
    ([0, 1, 2], (3, 256))
    """
    try:
        spec = ps.get_cluster_spectra(kind=kind, progress=False)
    except TypeError:  # a segmenter-like object without the progress option
        spec = ps.get_cluster_spectra(kind=kind)
    return [int(i) for i in ps.cluster_ids], np.asarray(spec)


def _spectrum_units(ps, kind: str, normalised: bool) -> str:
    if normalised:
        return "intensity / its maximum"
    # cluster spectra are taken from the counts (the dataset's analysis_spectra)
    return f"counts per channel ({'sum over the cluster' if kind == 'sum' else 'mean per pixel'})"


def _energy_window(ps, spec, spectra_range):
    from .annotate import useful_energy_range

    energy = np.asarray(ps.dataset.energy_axis, dtype=float)
    if spectra_range is not None:
        lo, hi = (float(v) for v in spectra_range)
        return energy, lo, hi
    beam = getattr(getattr(ps.dataset, "info", None), "beam_energy", None)
    total = np.asarray(spec, dtype=float).sum(axis=0) if np.size(spec) else None
    lo, hi = useful_energy_range(energy, total, list(sum_spectrum_lines(ps.dataset).values()), beam)
    return energy, lo, hi


def plot_cluster_spectra(ps, cluster_ids=None, normalisation: bool = True, spectra_range=None,
                         ax=None, kind: str = "mean", annotate: bool = True):
    """Mean (or sum, core, pure or net) spectrum of each cluster in its cluster colour on the real
    energy axis (``kind``: see :meth:`~sigma.clustering.PixelSegmenter.get_cluster_spectra`).

    Parameters
    ----------
    cluster_ids : sequence of int, optional
        Clusters to draw (default all).
    normalisation : bool
        Scale each spectrum to a maximum of 1.
    spectra_range : (float, float), optional
        x limits in keV (default: the useful range, up to the beam energy or just past the
        last feature line, see :func:`sigma.plot.annotate.useful_energy_range`).
    annotate : bool
        Mark the dataset's feature lines, their names in rows that never overlap.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> ax = plot_cluster_spectra(ps, [0, 2], spectra_range=(0.5, 8.0))
    >>> [line.get_label() for line in ax.get_lines()][:2], [float(x) for x in ax.get_xlim()]
    (['cluster 0', 'cluster 2'], [0.5, 8.0])
    """
    from .annotate import cluster_label, place_line_labels

    ids, spec = cluster_spectra(ps, kind)
    energy, lo, hi = _energy_window(ps, spec, spectra_range)
    cols = cluster_colors(ps)
    want = ids if cluster_ids is None else [int(i) for i in cluster_ids]
    ax = _ax_or_new(ax, (9, 3.4))
    inside = (energy >= lo) & (energy <= hi)
    top = 0.0
    for i in want:
        if i not in ids:
            raise bad_value("cluster_ids", i, f"ids among {ids}")
        y = spec[ids.index(i)].astype(float)
        if normalisation and np.nanmax(y[inside] if inside.any() else y) > 0:
            y = y / np.nanmax(y[inside] if inside.any() else y)
        top = max(top, float(np.nanmax(y[inside])) if inside.any() else 0.0)
        ax.plot(energy, y, color=cols.get(i, NOISE_COLOR), lw=1.0, label=f"cluster {cluster_label(ps, i)}")
    ax.set_xlim(float(lo), float(hi))
    ax.set_ylim(0, 1.05 * top if top > 0 else 1)
    ax.set_xlabel("Energy (keV)")
    ax.set_ylabel(_spectrum_units(ps, kind, normalisation))
    rows = 0
    if annotate:
        texts = place_line_labels(ax, sum_spectrum_lines(ps.dataset), fontsize=7)
        rows = len({round(t.get_position()[1], 4) for t in texts})
    if 0 < len(want) <= 12:
        ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_title(f"{kind.capitalize()} spectra of {len(want)} cluster{'s' if len(want) != 1 else ''}",
                 fontsize=10, pad=6 + 10 * rows)
    return ax


def plot_cluster_distribution(ps, max_clusters: int = 40, kind: str = "mean", cluster_ids=None):
    """One row per cluster: where its pixels are, its mean features, its spectrum (in its colour).

    Parameters
    ----------
    max_clusters : int
        Rows drawn when ``cluster_ids`` is not given (the first clusters).
    cluster_ids : sequence of int, optional
        The clusters to draw, e.g. one page of them (``gui.show_cluster_distribution`` pages
        through all of them).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> fig = plot_cluster_distribution(ps, cluster_ids=[1, 2])
    >>> [ax.get_title(loc="left") for ax in fig.axes[::3]]
    ['cluster 1: 34 px (53.1 %)', 'cluster 2: 12 px (18.8 %)']
    >>> fig.axes[1].get_ylabel(), fig.axes[2].get_xlabel()
    ('mean z-score', 'Energy (keV)')
    """
    from .annotate import add_scale_bar, cluster_label, feature_units

    labels = np.asarray(ps.labels)
    cols = cluster_colors(ps)
    ids, spec = cluster_spectra(ps, kind)
    ids_show = ids[:max_clusters] if cluster_ids is None else [int(i) for i in cluster_ids if int(i) in ids]
    ds = ps.dataset
    # the features the clustering was fitted on (the segmenter's snapshot), else the dataset's
    feats = getattr(ps, "features", None)
    names = list(getattr(ps, "feature_list", None) or [])
    if feats is None:
        feats = getattr(ds, "normalised_elemental_data", None)
        names = list(getattr(ds, "feature_list", []))
    has_energy = getattr(ds, "energy_axis", None) is not None
    fmeans = np.asarray(ps.feature_means) if feats is not None and hasattr(ps, "feature_means") else None
    funits = feature_units(ds)
    ncol = 3 if has_energy else 2
    nrow = max(len(ids_show), 1)
    h, w = labels.shape
    pitch, ax_h, top_in, bottom_in = 1.7, 0.9, 0.3, 0.66
    map_w = float(np.clip(ax_h * w / max(h, 1), 0.8, 2.4))
    # fixed margins (in inches) instead of constrained layout: half the drawing time
    widths = [map_w, 3.2] + ([4.2] if has_energy else [])
    fig_w = sum(widths) + 0.75 * ncol + 0.2
    fig_h = pitch * nrow - (pitch - ax_h) + top_in + bottom_in
    fig = new_figure((fig_w, fig_h))
    axes = fig.subplots(nrow, ncol, squeeze=False, gridspec_kw={
        "width_ratios": widths, "wspace": 0.75 / (sum(widths) / ncol), "hspace": (pitch - ax_h) / ax_h,
        "left": 0.55 / fig_w, "right": 1 - 0.15 / fig_w, "top": 1 - top_in / fig_h, "bottom": bottom_in / fig_h})
    if has_energy:
        energy, lo, hi = _energy_window(ps, spec, None)
    n_px = measured_pixels(ps, labels)
    for r, i in enumerate(ids_show):
        m = labels == i
        a0, a1 = axes[r, 0], axes[r, 1]
        a0.imshow(np.where(m, 1.0, 0.0), cmap=_single_cmap(cols[i]), vmin=0, vmax=1, interpolation="nearest")
        a0.set_title(f"cluster {cluster_label(ps, i)}: {int(m.sum()):,} px ({100 * m.sum() / n_px:.1f} %)",
                     fontsize=8, loc="left")
        a0.set_axis_off()
        add_scale_bar(a0, ps, w)
        if feats is not None and m.any():
            mean = fmeans[ids.index(i)] if fmeans is not None else np.asarray(feats)[m].mean(axis=0)
            a1.bar(np.arange(len(mean)), mean, color=cols[i])
            a1.set_xticks(np.arange(len(mean)), names[: len(mean)], rotation=90, fontsize=7)
            a1.axhline(0, color="0.3", lw=0.5)
        a1.set_ylabel(f"mean {funits}", fontsize=7)
        a1.tick_params(axis="y", labelsize=7)
        if ncol == 3:
            a2 = axes[r, 2]
            a2.plot(energy, spec[ids.index(i)], color=cols[i], lw=0.9)
            a2.set_xlim(lo, hi)
            a2.set_ylim(bottom=0)
            a2.set_xlabel("Energy (keV)", fontsize=7)
            a2.set_ylabel("counts / channel" + (" / px" if kind == "mean" else ""), fontsize=7)
            a2.tick_params(labelsize=7)
    if cluster_ids is None and len(ids) > max_clusters:
        log.info("plot_cluster_distribution: showing the first %d of %d clusters", max_clusters, len(ids))
    return fig
