"""Matplotlib figure builders: no widgets, no pyplot state, savable as PNG.

Every builder takes results (a dataset, a segmenter, arrays) and returns a
:class:`matplotlib.figure.Figure` or draws on the ``ax`` it is given. Figures are created with
:class:`~matplotlib.figure.Figure` directly, so nothing accumulates in pyplot's figure list and
they can be built in any backend (save them with :func:`save_png` or :func:`figure_to_png`).
Cluster colours always come from :func:`sigma.plot.colors.cluster_colors`.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

from .._errors import bad_value
from .colors import NOISE_COLOR, cluster_colors, label_rgba, palette

log = logging.getLogger(__name__)

__all__ = [
    "cluster_spectra",
    "figure_to_png",
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


# ----------------------------------------------------------------------------- helpers
def new_figure(figsize=(6, 4), **kw):
    """A :class:`~matplotlib.figure.Figure` with an Agg canvas (not registered in pyplot).

    Examples
    --------
    >>> fig = new_figure((3, 2))
    >>> fig.get_size_inches().tolist()
    [3.0, 2.0]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, **kw)
    FigureCanvasAgg(fig)
    return fig


def _ax_or_new(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    return new_figure(figsize, layout="constrained").add_subplot()


def figure_to_png(fig, dpi: int = 100) -> bytes:
    """PNG bytes of a figure (for ``ipywidgets.Image`` or a file).

    Examples
    --------
    >>> figure_to_png(new_figure((1, 1)))[:4]
    b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_png(fig, path, dpi: int = 100) -> Path:
    """Save a figure as PNG, creating the folder; returns the path.

    Examples
    --------
    >>> import os, tempfile
    >>> fig = new_figure((2, 2))
    >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> p = save_png(fig, os.path.join(tempfile.mkdtemp(), "figs", "line.png"), dpi=50)
    >>> p.name, p.read_bytes()[:4]
    ('line.png', b'\\x89PNG')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    log.info("saved %s", path)
    return path


def _grid(n: int, ncols: int, panel=(3.0, 2.6)):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols)) if n else 1
    fig = new_figure((panel[0] * ncols, panel[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False,
                        gridspec_kw={"left": 0.02, "right": 0.95, "wspace": 0.25, "hspace": 0.3,
                                     "top": 1 - 0.45 / (panel[1] * nrows), "bottom": 0.03}).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _spectrum_signal(dataset, binned: bool):
    sig = getattr(dataset, "spectra_bin", None) if binned else None
    return sig if sig is not None else getattr(dataset, "spectra", None)


# ----------------------------------------------------------------------------- dataset views
def plot_nav_image(dataset, binned: bool = False, ax=None, cmap: str = "gray"):
    """The navigation image (BSE/SE/HAADF, or the intensity image of an ImageDataset).

    Examples
    --------
    >>> from sigma.synthetic import tiny_dataset
    >>> plot_nav_image(tiny_dataset((6, 8))).images[0].get_array().shape
    (6, 8)
    """
    nav = getattr(dataset, "nav_img_bin", None) if binned else None
    nav = nav if nav is not None else dataset.nav_img
    img = np.asarray(getattr(nav, "data", nav), dtype=float)
    ax = _ax_or_new(ax)
    ax.imshow(img, cmap=cmap, interpolation="nearest")
    title = getattr(getattr(getattr(nav, "metadata", None), "General", None), "title", "")
    ax.set_title(title or "Navigation signal")
    ax.set_axis_off()
    return ax


def sum_spectrum_lines(dataset, feature_list=None) -> dict[str, float]:
    """``{line: energy_keV}`` of the X-ray lines to annotate (the dataset's feature lines).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> sum_spectrum_lines(SimpleNamespace(feature_list=["Fe_Ka", "Navigator"]))
    {'Fe_Ka': 6.4039}
    """
    from ..xray import is_xray_line, line_energy

    feats = getattr(dataset, "feature_list", []) if feature_list is None else feature_list
    return {f: line_energy(f) for f in feats if is_xray_line(f)}


def plot_sum_spectrum(dataset, ax=None, binned: bool = False, feature_list=None,
                      energy_range=None, log_scale: bool = False):
    """Sum spectrum on the dataset's true energy axis, feature lines marked at their energies.

    Each line is drawn as a dashed vertical marker and a text label whose x position is the
    line's tabulated energy (:func:`sigma.xray.line_energy`), whatever the channel width or
    offset. The x range is the data's own axis unless ``energy_range`` is given.

    Parameters
    ----------
    dataset : SEMDataset or TEMDataset
    ax : matplotlib Axes, optional
    binned : bool
        Use the binned spectra when they exist.
    feature_list : list of str, optional
        Lines to annotate (default: the dataset's feature list).
    energy_range : (float, float), optional
        x limits in keV.
    log_scale : bool
        Logarithmic counts axis.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from sigma.synthetic import tiny_dataset
    >>> ax = plot_sum_spectrum(tiny_dataset((6, 8)))
    >>> {t.get_text(): round(t.get_position()[0], 4) for t in ax.texts}["Fe_Ka"]
    6.4039
    """
    sig = _spectrum_signal(dataset, binned)
    if sig is None:
        raise bad_value("dataset", type(dataset).__name__, "a dataset with spectra (SEMDataset or TEMDataset)")
    energy = dataset.energy_axis_of(sig)
    spec = np.asarray(dataset.sum_spectrum(binned=binned), dtype=float)
    ax = _ax_or_new(ax, (8, 3.5))
    ax.plot(energy, spec, color="0.2", lw=0.9)
    ax.set_xlabel("Energy (keV)")
    ax.set_ylabel("Counts (sum)" if not getattr(dataset, "normalised_spectra", False) else "Intensity (sum)")
    lo, hi = (float(energy[0]), float(energy[-1])) if energy_range is None else map(float, energy_range)
    ax.set_xlim(lo, hi)
    if log_scale:
        ax.set_yscale("log")
    top = float(np.nanmax(spec)) if spec.size else 1.0
    lines = sum_spectrum_lines(dataset, feature_list)
    pal = palette(len(lines))
    for k, (name, e) in enumerate(sorted(lines.items(), key=lambda kv: kv[1])):
        if not lo <= e <= hi:
            continue
        y = float(np.interp(e, energy, spec))
        ax.axvline(e, color=pal[k], ls="--", lw=0.8, alpha=0.8)
        ax.text(e, min(y + 0.04 * top, 1.05 * top), name, rotation=90, ha="right", va="bottom",
                fontsize=8, color=pal[k], gid=f"line:{name}")
    ax.set_ylim(top=1.2 * top if top > 0 else 1)
    ax.set_title("Sum spectrum" + (" (binned)" if binned else ""))
    return ax


def plot_feature_maps(maps, names, cmap: str = "viridis", ncols: int = 4, title: str | None = None):
    """Grid of ``(H, W, F)`` maps, one panel per feature with its colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_feature_maps(np.random.rand(4, 5, 3), ["a", "b", "c"])
    >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
    ['a', 'b', 'c']
    """
    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.shape[-1] != len(names):
        raise bad_value("maps", maps.shape, f"an (H, W, {len(names)}) array matching the {len(names)} names")
    fig, axes = _grid(len(names), ncols)
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        im = ax.imshow(maps[..., i], cmap=cmap, interpolation="nearest")
        ax.set_title(name)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def plot_intensity_maps(spectra, element_list, cmap: str = "viridis", ncols: int = 4):
    """Maps of an ``(H, W, F)`` feature array (``gui.view_intensity_maps``).

    Examples
    --------
    >>> import numpy as np
    >>> maps = np.random.default_rng(0).random((6, 8, 3))
    >>> fig = plot_intensity_maps(maps, ["Fe_Ka", "Si_Ka", "O_Ka"], ncols=2)
    >>> [ax.get_title() for ax in fig.axes if ax.get_visible()][:3]
    ['Fe_Ka', 'Si_Ka', 'O_Ka']
    """
    return plot_feature_maps(spectra, list(element_list), cmap=cmap, ncols=ncols)


def plot_pixel_distributions(maps, names, norm_list=(), cmap: str = "viridis", bins: int = 50):
    """Histograms of every feature after each cumulative normalisation step.

    Row 0 is the raw feature maps, row ``k`` the maps after the first ``k`` steps of
    ``norm_list``; bars are coloured by their value through ``cmap``.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.utils import normalisation as norm
    >>> fig = plot_pixel_distributions(np.random.rand(5, 5, 2), ["a", "b"], [norm.zscore])
    >>> fig.axes[2].get_title()
    'a — zscore'
    """
    from matplotlib import colormaps

    from ..preprocessing.normalisation import apply_chain, chain_names

    maps = np.asarray(maps, dtype=np.float32)
    steps = chain_names(norm_list)
    stages = [("raw", maps)]
    for k in range(len(steps)):
        stages.append((" + ".join(steps[: k + 1]), apply_chain(maps, list(norm_list)[: k + 1])))
    nf = len(names)
    fig = new_figure((2.6 * nf, 2.1 * len(stages)))
    axes = fig.subplots(len(stages), nf, squeeze=False,
                        gridspec_kw={"left": 0.3 / nf, "right": 0.99, "wspace": 0.35, "hspace": 0.45,
                                     "top": 1 - 0.3 / (2.1 * len(stages)), "bottom": 0.35 / (2.1 * len(stages))})
    cm = colormaps[cmap]
    for r, (stage, data) in enumerate(stages):
        for c, name in enumerate(names):
            ax = axes[r, c]
            v = data[..., c].ravel()
            v = v[np.isfinite(v)]
            counts, edges = np.histogram(v, bins=bins)
            lo, hi = (edges[0], edges[-1]) if edges[-1] > edges[0] else (edges[0] - 1, edges[0] + 1)
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.bar(centres, counts, width=np.diff(edges), color=cm((centres - lo) / (hi - lo)), linewidth=0)
            ax.set_title(f"{name} — {stage}", fontsize=8)
            ax.tick_params(labelsize=7)
    return fig


# ----------------------------------------------------------------------------- latent space
def plot_projection(latent, ax=None, max_points: int = 200_000, seed: int = 0):
    """Density-shaded scatter of a 2-D latent space (``gui.show_projection``).

    Examples
    --------
    >>> import numpy as np
    >>> ax = plot_projection(np.random.rand(100, 2))
    >>> ax.get_xlabel()
    'latent 1'
    """
    z = np.asarray(latent, dtype=float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise bad_value("latent", z.shape, "an (N, 2) or wider array of latent coordinates")
    idx = _subsample(len(z), max_points, seed)
    ax = _ax_or_new(ax, (5, 5))
    ax.hexbin(z[idx, 0], z[idx, 1], gridsize=120, bins="log", cmap="viridis", mincnt=1, linewidths=0)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_title(f"Latent space ({len(z):,} points)")
    ax.set_aspect("equal", adjustable="datalim")
    return ax


def _subsample(n: int, max_points: int | None, seed: int = 0) -> np.ndarray:
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, int(max_points), replace=False))


def gaussian_ellipses(model, n_std: float = 2.0):
    """``[(mean_xy, width, height, angle_deg)]`` of a fitted Gaussian mixture's components.

    Reads ``means_`` and ``covariances_`` (any ``covariance_type``); returns ``[]`` for models
    without them (HDBSCAN...). Only the first two latent dimensions are drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(means_=np.zeros((1, 2)), covariances_=np.array([[[4.0, 0], [0, 1]]]),
    ...                     covariance_type="full")
    >>> [(float(w), float(h), float(a)) for _, w, h, a in gaussian_ellipses(m, 1.0)]
    [(4.0, 2.0, 0.0)]
    """
    means = getattr(model, "means_", None)
    covs = getattr(model, "covariances_", None)
    if means is None or covs is None:
        return []
    means = np.asarray(means, dtype=float)
    covs = np.asarray(covs, dtype=float)
    k, d = means.shape
    kind = getattr(model, "covariance_type", "full")
    out = []
    for i in range(k):
        if kind == "full":
            c = covs[i]
        elif kind == "tied":
            c = covs
        elif kind == "diag":
            c = np.diag(covs[i])
        else:  # spherical
            c = np.eye(d) * covs[i]
        c = c[:2, :2]
        vals, vecs = np.linalg.eigh(c)
        vals = np.clip(vals, 0, None)
        angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))
        out.append((means[i, :2], 2 * n_std * np.sqrt(vals[1]), 2 * n_std * np.sqrt(vals[0]), angle % 180.0))
    return out


def plot_latent(ps, color: bool = True, ax=None, max_points: int = 200_000, ellipses: bool = True,
                seed: int = 0, s: float | None = None):
    """Latent space coloured by cluster (or grey), with GMM Gaussians as 2σ ellipses.

    Parameters
    ----------
    ps : PixelSegmenter
        Provides ``latent``, ``labels``, ``colors`` and, for GMM, ``model``.
    color : bool
        Colour points by their cluster; grey when False.
    ellipses : bool
        Draw the fitted Gaussians (``model.means_``/``covariances_``) when the model has them.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ps = SimpleNamespace(latent=np.random.rand(6, 2), labels=np.array([[0, 0, 1], [1, 1, 0]]),
    ...                      colors={0: "#ff0000", 1: "#0000ff"}, model=None)
    >>> len(plot_latent(ps).collections)
    1
    """
    from matplotlib.patches import Ellipse

    z = np.asarray(ps.latent, dtype=float)
    labels = np.asarray(ps.labels).ravel()
    idx = _subsample(len(z), max_points, seed)
    ax = _ax_or_new(ax, (6, 6))
    if color:
        cols = cluster_colors(ps)
        from matplotlib.colors import to_rgba_array

        ids = np.array(sorted(cols))
        lut = to_rgba_array([cols[int(i)] for i in ids])
        c = lut[np.searchsorted(ids, labels[idx])]
    else:
        c = "0.35"
    s = float(np.clip(3e4 / max(len(idx), 1), 1.0, 16.0)) if s is None else s
    ax.scatter(z[idx, 0], z[idx, 1], c=c, s=s, linewidths=0, rasterized=True)
    if ellipses:
        for k, (mu, w, h, a) in enumerate(gaussian_ellipses(getattr(ps, "model", None))):
            ec = cluster_colors(ps).get(k, "k") if color else "k"
            ax.add_patch(Ellipse(mu, w, h, angle=a, fill=False, lw=1.0, ec="k" if not color else ec, alpha=0.9))
            ax.add_patch(Ellipse(mu, w, h, angle=a, fill=False, lw=0.4, ec="k", alpha=0.6))
    if color:
        from matplotlib.lines import Line2D

        cols = cluster_colors(ps)
        if len(cols) <= 30:
            handles = [Line2D([], [], ls="", marker="o", color=c_, label=str(i)) for i, c_ in cols.items()]
            ax.legend(handles=handles, title="cluster", fontsize=7, loc="center left",
                      bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_xlabel("latent 1")
    ax.set_ylabel("latent 2")
    ax.set_aspect("equal", adjustable="datalim")
    return ax


# ----------------------------------------------------------------------------- clusters
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
            names = phase_legend_labels(ps, ids)
            handles = [Patch(color=cols[i], label=names[i]) for i in ids]
            named = any(names[i] != str(i) for i in ids)
            ax.legend(handles=handles, title="cluster · phase · area" if named else "cluster",
                      fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
                      ncols=1 + len(ids) // 20)
    return ax


def phase_legend_labels(ps, ids) -> dict[int, str]:
    """``{id: '3 · ilmenite FeTiO₃ · 12.4 %'}`` when the clusters are named (``ps.cluster_names``,
    area of all scanned pixels), else ``{id: '3'}``.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ps = SimpleNamespace(labels=np.array([[0, 0, 1, -1]]), cluster_names={0: "quartz SiO₂"})
    >>> phase_legend_labels(ps, [0, 1])
    {0: '0 · quartz SiO₂ · 50.0 %', 1: '1'}
    """
    names = getattr(ps, "cluster_names", None) or {}
    if not names:
        return {int(i): str(i) for i in ids}
    labels = np.asarray(ps.labels)
    counts = np.bincount(labels[labels >= 0].ravel(), minlength=max([*ids, 0]) + 1)
    out = {}
    for i in ids:
        i = int(i)
        name = names.get(i)
        out[i] = f"{i} · {name} · {100 * counts[i] / labels.size:.1f} %" if name else str(i)
    return out


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
        name = (getattr(ps, "cluster_names", None) or {}).get(i)
        ax.plot(energy, y, color=cols.get(i, NOISE_COLOR), lw=1.0,
                label=f"cluster {i} · {name}" if name else f"cluster {i}")
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


def _single_cmap(color):
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("one", ["#f4f4f4", color])


# ----------------------------------------------------------------------------- unmixing
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
