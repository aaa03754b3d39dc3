"""What makes a figure readable at a glance: scale bars, units, energy ranges, line labels.

* :func:`pixel_size` reads the calibration of a dataset's analysis grid (e.g. 8.74 µm/px);
  :func:`scale_bar_length` picks a round bar length and :func:`add_scale_bar` draws it.
* :func:`feature_units` says what the values of a feature map are (counts, fraction of the
  pixel's counts, z-score...), for colour-bar labels.
* :func:`useful_energy_range` is the part of a spectrum worth showing: up to the beam energy
  or a little past the last line of interest, not the whole detector axis.
* :func:`place_line_labels` writes X-ray line names above a spectrum in rows, so that no two
  labels overlap.

No widgets here; matplotlib is imported only where a figure is drawn.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "add_scale_bar",
    "format_length",
    "cluster_label",
    "unassigned_label",
    "feature_units",
    "place_line_labels",
    "pixel_size",
    "scale_bar_length",
    "useful_energy_range",
]

_UNIT_ALIASES = {"um": "µm", "μm": "µm", "micron": "µm", "microns": "µm", "µm": "µm", "nm": "nm",
                 "mm": "mm", "m": "m", "pm": "pm", "å": "Å", "angstrom": "Å"}  # fmt: skip
_TO_NM = {"pm": 1e-3, "Å": 0.1, "nm": 1.0, "µm": 1e3, "mm": 1e6, "m": 1e9}


def pixel_size(obj) -> tuple[float, str] | None:
    """``(size, unit)`` of one pixel of the analysis grid, or None when the file has none.

    Reads the axes of ``nav_img_bin`` (after binning) or ``nav_img`` of a dataset (or of
    ``obj.dataset`` for a segmenter). Axes in pixels (``'pix'``, no units) count as
    uncalibrated.

    Examples
    --------
    >>> from sigma.synthetic import tiny_dataset
    >>> pixel_size(tiny_dataset())  # the phantom's 0.1 µm pixels
    (0.1, 'µm')
    >>> import hyperspy.api as hs
    >>> from types import SimpleNamespace
    >>> img = hs.signals.Signal2D(np.zeros((4, 5)))
    >>> for ax in img.axes_manager.signal_axes:
    ...     ax.scale, ax.units = 8.7368, "um"
    >>> pixel_size(SimpleNamespace(nav_img=img, nav_img_bin=None))
    (8.7368, 'µm')
    """
    ds = getattr(obj, "dataset", obj)
    sig = getattr(ds, "nav_img_bin", None)
    if sig is None:
        sig = getattr(ds, "nav_img", None)
    axes = getattr(getattr(sig, "axes_manager", None), "signal_axes", None)
    if not axes:
        return None
    ax = axes[0]
    raw = str(getattr(ax, "units", "") or "").strip().replace("\u03bc", "\u00b5")  # Greek mu → micro sign
    unit = _UNIT_ALIASES.get(raw) or _UNIT_ALIASES.get(raw.lower())
    scale = float(getattr(ax, "scale", 0.0) or 0.0)
    if unit is None or not math.isfinite(scale) or scale <= 0:
        return None
    return abs(scale), unit


def scale_bar_length(size: float, unit: str, n_pixels: int, fraction: float = 0.22) -> tuple[float, str, float]:
    """A round scale-bar length near ``fraction`` of an image ``n_pixels`` wide.

    Returns
    -------
    value, unit, length_in_pixels
        The length to print (1, 2 or 5 × 10^k in a unit where it lies in [1, 1000)) and how
        many pixels it spans.

    Examples
    --------
    >>> scale_bar_length(8.7368, "µm", 100)  # P45: 8.74 µm/px, 100 px wide
    (200.0, 'µm', 22.89...)
    >>> scale_bar_length(0.000771, "µm", 64)[:2]  # a STEM map: 0.77 nm/px
    (10.0, 'nm')
    """
    total_nm = size * _TO_NM[unit] * n_pixels * fraction
    exp = math.floor(math.log10(total_nm))
    # the 1-2-5 value nearest (in ratio) to the wanted length
    nice = min((m * 10**exp for m in (1, 2, 5, 10)), key=lambda v: abs(math.log(v / total_nm)))
    for u in ("pm", "nm", "µm", "mm", "m"):
        v = nice / _TO_NM[u]
        if 1 <= round(v, 9) < 1000 or u == "m":
            value = float(f"{v:.6g}")
            break
    return value, u, nice / (size * _TO_NM[unit])


def format_length(value: float, unit: str) -> str:
    """A length in nm, µm, mm or m, the first where its number is below 1000 (3 significant
    digits; microscopists quote sub-nanometre pixels in nm).

    Examples
    --------
    >>> format_length(0.000771, "µm"), format_length(26.21, "µm"), format_length(2500, "nm")
    ('0.771 nm', '26.2 µm', '2.5 µm')
    """
    nm = float(value) * _TO_NM[unit]
    for u in ("nm", "µm", "mm", "m"):
        v = nm / _TO_NM[u]
        if abs(v) < 999.5 or u == "m":
            return f"{v:.3g} {u}"
    return f"{value:.3g} {unit}"  # pragma: no cover


def add_scale_bar(ax, obj, n_pixels: int | None = None, color: str = "black"):
    """Draw a scale bar with the dataset's calibration in the lower right of an image axes.

    Parameters
    ----------
    ax : matplotlib Axes
        Showing the analysis grid with ``imshow`` (data coordinates in pixels).
    obj : dataset, PixelSegmenter, or (size, unit)
    n_pixels : int, optional
        Image width in pixels (default: from the axes limits).

    Returns
    -------
    The AnchoredSizeBar artist, or None when the data have no spatial calibration.

    Examples
    --------
    >>> from sigma.plot import new_figure
    >>> ax = new_figure((3, 3)).add_subplot()
    >>> _ = ax.imshow(np.zeros((75, 100)))
    >>> add_scale_bar(ax, (8.7368, "µm")).txt_label.get_text()
    '200 µm'
    """
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    calib = obj if isinstance(obj, tuple) else pixel_size(obj)
    if calib is None:
        return None
    if n_pixels is None:
        lo, hi = ax.get_xlim()
        n_pixels = int(round(abs(hi - lo)))
    value, unit, length = scale_bar_length(calib[0], calib[1], n_pixels)
    bar = AnchoredSizeBar(ax.transData, length, f"{value:g} {unit}", "lower right", pad=0.3, sep=3,
                          color=color, frameon=True, size_vertical=max(n_pixels / 120, 0.4),
                          fontproperties={"size": 8})
    bar.patch.set_alpha(0.75)
    bar.patch.set_edgecolor("none")
    bar.set_gid("scale-bar")
    ax.add_artist(bar)
    return bar


def feature_units(dataset=None, *, raw: bool = False, values=None) -> str:
    """What the values of a feature map are, for its colour-bar label.

    Parameters
    ----------
    dataset : dataset, optional
        Its state says whether the line maps are counts or fractions of each pixel's counts
        (after ``peak_intensity_normalisation``) and which normalisation chain ran.
    raw : bool
        The raw (unbinned) line maps rather than the analysis features.
    values : array, optional
        Normalised features without a dataset: a z-score is recognised (every column mean 0,
        standard deviation 1), as are softmax weights (rows summing to 1).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> feature_units(SimpleNamespace(normalised_spectra=False), raw=True)
    'counts in the line window'
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(10, 10, 3))
    >>> feature_units(values=(x - x.mean((0, 1))) / x.std((0, 1)))
    'z-score'
    """
    if values is not None and dataset is None:
        v = np.asarray(values, dtype=np.float64)
        flat = v.reshape(-1, v.shape[-1]) if v.ndim >= 2 else v.reshape(-1, 1)
        flat = flat[np.isfinite(flat).all(axis=1)]
        if flat.size:
            if np.allclose(flat.mean(0), 0, atol=1e-3) and np.allclose(flat.std(0), 1, atol=1e-2):
                return "z-score"
            if flat.min() >= 0 and np.allclose(flat.sum(1), 1, atol=1e-4):
                return "softmax weight"
        return "feature value"
    fraction = bool(getattr(dataset, "normalised_spectra", False))
    if raw and getattr(dataset, "spectra_bin", None) is not None:
        fraction = False  # the per-pixel normalisation ran on the binned spectra only
    base = "fraction of the pixel's counts" if fraction else "counts in the line window"
    if raw:
        return base
    chain = [str(c) for c in getattr(dataset, "norm_chain", []) or []]
    if "softmax" in chain:
        return "softmax weight"
    if "zscore" in chain:
        return "z-score"
    return base + (" (neighbour-averaged)" if "neighbour_averaging" in chain else "")


def useful_energy_range(energy, spectrum=None, lines=(), beam_energy=None, margin: float = 1.5):
    """``(lo, hi)`` keV worth showing: from the axis start (not below 0) to ``margin`` keV past
    the last line of interest; without lines, to where 99.5 % of the counts are reached; never
    past the beam energy or the axis end.

    Examples
    --------
    >>> e = np.linspace(0, 80, 8001)
    >>> useful_energy_range(e, lines=[6.4, 8.05])  # an 80 keV axis with Fe and Cu lines
    (0.0, 9.55)
    >>> useful_energy_range(np.linspace(-0.5, 20, 2051), beam_energy=15.0)
    (0.0, 15.0)
    """
    e = np.asarray(energy, dtype=float)
    lo, hi = max(float(e[0]), 0.0), float(e[-1])
    top = None
    if lines:
        top = max(float(x) for x in lines) + margin
    elif spectrum is not None:
        s = np.clip(np.nan_to_num(np.asarray(spectrum, dtype=float)), 0, None)
        s = np.where(e >= lo, s, 0)
        total = s.sum()
        if total > 0:
            top = float(e[min(np.searchsorted(np.cumsum(s), 0.995 * total), e.size - 1)]) + margin / 2
    if beam_energy:
        top = float(beam_energy) if top is None else min(top, float(beam_energy))
    if top is not None:
        hi = min(hi, top)
    return lo, float(round(hi, 6)) if hi > lo else float(e[-1])


#: Text colours of line labels: the dark Tableau colours (light ones are hard to read on white).
LABEL_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
                "#bcbd22")  # fmt: skip


def place_line_labels(ax, lines: dict, colors=None, fontsize: float = 8, y0: float = 1.01,
                      gap_px: float = 3.0):
    """Label X-ray lines above the axes, in as many rows as needed so none overlap.

    Each line gets a dotted marker at its energy and its name centred above the axes; a name
    that would touch an earlier one in its row goes to the next row.

    Parameters
    ----------
    lines : dict
        ``{name: energy_keV}``; lines outside the x limits are skipped.
    colors : dict, optional
        ``{name: colour}``.

    Returns
    -------
    list of matplotlib Text
        The labels (``gid='line:<name>'``).

    Examples
    --------
    >>> from sigma.plot import new_figure
    >>> ax = new_figure((6, 3)).add_subplot()
    >>> ax.set_xlim(0, 10)
    (0.0, 10.0)
    >>> texts = place_line_labels(ax, {"Fe_Ka": 6.404, "Mn_Kb": 6.490, "Si_Ka": 1.74})
    >>> len({round(t.get_position()[1], 3) for t in texts})  # Fe and Mn share no row
    2
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    lo, hi = sorted(ax.get_xlim())
    row_ends: list[float] = []
    texts = []
    trans = ax.get_xaxis_transform()
    line_h = fontsize * 1.35 / 72 * fig.dpi  # one text row in pixels
    ax_h = ax.get_window_extent(renderer).height or 1.0
    for name, e in sorted(lines.items(), key=lambda kv: kv[1]):
        if not lo <= e <= hi:
            continue
        c = (colors or {}).get(name, "0.25")
        ax.axvline(e, color=c, ls=":", lw=0.8, alpha=0.9)
        t = ax.text(e, y0, name, transform=trans, ha="center", va="bottom", fontsize=fontsize, color=c,
                    gid=f"line:{name}", clip_on=False)
        bb = t.get_window_extent(renderer)
        row = next((r for r, end in enumerate(row_ends) if bb.x0 > end + gap_px), len(row_ends))
        if row == len(row_ends):
            row_ends.append(-np.inf)
        row_ends[row] = bb.x1
        t.set_y(y0 + row * line_h / ax_h)
        texts.append(t)
    return texts


def unassigned_label(ps) -> str:
    """What label -1 stands for: ``'noise (-1)'`` (pixels no cluster took), ``'excluded (-1)'``
    (pixels the dataset excluded: outside the scan, NaN, negative or no counts) or both.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> unassigned_label(SimpleNamespace(noise_count=953, excluded_count=953))
    'excluded (-1)'
    >>> unassigned_label(SimpleNamespace(noise_count=990, excluded_count=953))
    'noise / excluded (-1)'
    >>> unassigned_label(SimpleNamespace())
    'noise (-1)'
    """
    n = int(getattr(ps, "noise_count", 0) or 0)
    excluded = int(getattr(ps, "excluded_count", 0) or 0)
    if excluded and excluded >= n:
        return "excluded (-1)"
    return "noise / excluded (-1)" if excluded else "noise (-1)"


def cluster_label(ps, cluster_id: int) -> str:
    """``'3'``, or ``'3 · ilmenite FeTiO₃'`` once the segmenter names its clusters.

    Reads ``ps.cluster_names`` (``{id: name}``) when present.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cluster_label(SimpleNamespace(cluster_names={3: "ilmenite FeTiO₃"}), 3)
    '3 · ilmenite FeTiO₃'
    >>> cluster_label(SimpleNamespace(), 4), cluster_label(SimpleNamespace(), -1)
    ('4', 'noise (-1)')
    """
    cid = int(cluster_id)
    if cid < 0:
        return unassigned_label(ps)
    names = getattr(ps, "cluster_names", None) or {}
    name = names.get(cid, names.get(str(cid))) if isinstance(names, dict) else None
    return f"{cid} · {name}" if name else str(cid)
