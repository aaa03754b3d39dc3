"""Figures of a dataset: navigation image, sum spectrum, feature maps, pixel distributions."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, _grid, _spectrum_signal, image_figsize, new_figure

log = logging.getLogger(__name__)


def plot_nav_image(dataset, binned: bool = False, ax=None, cmap: str = "gray", scale_bar: bool = True):
    """The navigation image (BSE/SE/HAADF, or the intensity image of an ImageDataset), with a
    scale bar from the file's calibration.

    Examples
    --------
    >>> from sigma.synthetic import tiny_dataset
    >>> ax = plot_nav_image(tiny_dataset((6, 8)))
    >>> ax.images[0].get_array().shape, [a.get_gid() for a in ax.artists]
    ((6, 8), ['scale-bar'])
    """
    from .annotate import add_scale_bar

    nav = getattr(dataset, "nav_img_bin", None) if binned else None
    nav = nav if nav is not None else dataset.nav_img
    img = np.asarray(getattr(nav, "data", nav), dtype=float)
    ax = _ax_or_new(ax, image_figsize(img.shape))
    ax.imshow(img, cmap=cmap, interpolation="nearest")
    title = getattr(getattr(getattr(nav, "metadata", None), "General", None), "title", "")
    h, w = img.shape
    ax.set_title(f"{title or 'Navigation signal'} ({h}×{w} px)")
    ax.set_axis_off()
    if scale_bar:
        add_scale_bar(ax, _calibration(dataset, nav), w)
    return ax


def _calibration(dataset, nav=None):
    from types import SimpleNamespace

    from .annotate import pixel_size

    return pixel_size(SimpleNamespace(nav_img=nav, nav_img_bin=None)) if nav is not None else pixel_size(dataset)


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
    from .annotate import place_line_labels, useful_energy_range

    sig = _spectrum_signal(dataset, binned)
    if sig is None:
        raise bad_value("dataset", type(dataset).__name__, "a dataset with spectra (SEMDataset or TEMDataset)")
    energy = dataset.energy_axis_of(sig)
    spec = np.asarray(dataset.sum_spectrum(binned=binned), dtype=float)
    ax = _ax_or_new(ax, (9, 3.4))
    ax.plot(energy, spec, color="0.2", lw=0.9)
    ax.set_xlabel("Energy (keV)")
    fractions = bool(getattr(dataset, "normalised_spectra", False)) and (
        binned or getattr(dataset, "spectra_bin", None) is None)  # normalisation runs on the binned cube
    ax.set_ylabel("intensity (sum of per-pixel fractions)" if fractions else "counts per channel (all pixels)")
    lines = sum_spectrum_lines(dataset, feature_list)
    if energy_range is None:
        beam = getattr(getattr(dataset, "info", None), "beam_energy", None)
        lo, hi = useful_energy_range(energy, spec, list(lines.values()), beam)
    else:
        lo, hi = map(float, energy_range)
    ax.set_xlim(lo, hi)
    if log_scale:
        ax.set_yscale("log")
    inside = (energy >= lo) & (energy <= hi)
    top = float(np.nanmax(spec[inside])) if inside.any() else 1.0
    ax.set_ylim(bottom=None if log_scale else 0, top=1.05 * top if top > 0 else 1)
    from .annotate import LABEL_COLORS

    order = sorted(lines, key=lines.get)
    pal = {name: LABEL_COLORS[k % len(LABEL_COLORS)] for k, name in enumerate(order)}
    texts = place_line_labels(ax, lines, pal)
    rows = len({round(t.get_position()[1], 4) for t in texts})
    ax.set_title("Sum spectrum" + (" (binned)" if binned else ""), pad=6 + 11 * rows)
    return ax


def plot_feature_maps(maps, names, cmap: str = "viridis", ncols: int | None = None, title: str | None = None,
                      units: str | None = None, calibration=None, robust: bool = False):
    """Grid of ``(H, W, F)`` maps, one panel per feature with its labelled colour bar.

    Parameters
    ----------
    maps : (H, W, F) array
    names : list of str
    ncols : int, optional
        Panels per row (default: up to 5).
    units : str or dict, optional
        What the values are (colour-bar label), e.g. ``'counts in the line window'`` or
        ``'z-score'`` (see :func:`sigma.plot.annotate.feature_units`); a dict gives it per
        feature name. The ``'Navigator'`` feature is labelled as the scaled image it is.
    calibration : (size, unit) or dataset, optional
        Pixel size for a scale bar on every panel.
    robust : bool
        Colour limits at the 1st and 99th percentiles of each map (the colour bar then shows
        arrows), so that a few extreme pixels do not flatten the rest.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_feature_maps(np.random.rand(4, 5, 3), ["a", "b", "c"], units="z-score")
    >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
    ['a', 'b', 'c']
    >>> sorted({ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"})
    ['z-score']
    """
    from .annotate import add_scale_bar, pixel_size

    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.shape[-1] != len(names):
        raise bad_value("maps", maps.shape, f"an (H, W, {len(names)}) array matching the {len(names)} names")
    calib = calibration if isinstance(calibration, tuple) or calibration is None else pixel_size(calibration)
    fig, axes = _grid(len(names), ncols, shape=maps.shape[:2])
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        lim = {}
        if robust:
            lo, hi = np.nanpercentile(maps[..., i], [1, 99])
            lim = {"vmin": lo, "vmax": hi} if hi > lo else {}
        im = ax.imshow(maps[..., i], cmap=cmap, interpolation="nearest", **lim)
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
        cb = fig.colorbar(im, ax=ax, shrink=0.85, pad=0.02, extend="both" if lim else "neither")
        cb.ax.tick_params(labelsize=7)
        unit = units.get(name) if isinstance(units, dict) else units
        if name == "Navigator" and not isinstance(units, dict) and (
                unit is None or "count" in unit or "fraction of the pixel" in unit):
            unit = "navigation image, scaled 0–1"  # not a line intensity
        cb.set_label(unit or "value", fontsize=7)
        if calib is not None:
            add_scale_bar(ax, calib, maps.shape[1])
    if title:  # wrapped to the figure's width: a grid of one or two maps is narrower than it
        import textwrap

        fig.suptitle(textwrap.fill(title, max(16, int(fig.get_figwidth() * 8))))
    return fig


def plot_intensity_maps(spectra, element_list, cmap: str = "viridis", ncols: int | None = None,
                        units: str | None = None, calibration=None):
    """Maps of an ``(H, W, F)`` feature array (``gui.view_intensity_maps``).

    ``units`` labels the colour bars; without it a z-score or softmax array is recognised
    from its values (:func:`sigma.plot.annotate.feature_units`).

    Examples
    --------
    >>> import numpy as np
    >>> maps = np.random.default_rng(0).random((6, 8, 3))
    >>> fig = plot_intensity_maps(maps, ["Fe_Ka", "Si_Ka", "O_Ka"], ncols=2)
    >>> [ax.get_title() for ax in fig.axes if ax.get_visible()][:3]
    ['Fe_Ka', 'Si_Ka', 'O_Ka']
    """
    from .annotate import feature_units

    units = units or feature_units(values=spectra)
    return plot_feature_maps(spectra, list(element_list), cmap=cmap, ncols=ncols, units=units,
                             calibration=calibration)


def plot_pixel_distributions(maps, names, norm_list=(), cmap: str = "viridis", bins: int = 50, features=None):
    """Histograms of every feature after each cumulative normalisation step.

    One row per feature, one column per stage: the raw feature maps, then the maps after the
    first ``k`` steps of ``norm_list``. Bars are coloured by their value through ``cmap``;
    every panel has its axes labelled.

    Parameters
    ----------
    features : sequence of int, optional
        Rows to draw (indices into ``names``; default all), e.g. one page of a long list.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.utils import normalisation as norm
    >>> fig = plot_pixel_distributions(np.random.rand(5, 5, 2), ["a", "b"], [norm.zscore])
    >>> [ax.get_title() for ax in fig.axes[:2]], fig.axes[0].get_ylabel()
    (['raw', '+ zscore'], 'a\\npixels')
    """
    from matplotlib import colormaps

    from ..preprocessing.normalisation import apply_chain, chain_names

    maps = np.asarray(maps, dtype=np.float32)
    steps = chain_names(norm_list)
    rows = list(range(len(names))) if features is None else [int(i) for i in features]
    sub = maps[..., rows]
    stages = [("raw", "line intensity", sub)]
    units = {"zscore": "z-score", "softmax": "softmax weight", "neighbour_averaging": "averaged intensity"}
    for k in range(len(steps)):
        # every step sees all features (softmax mixes them), the rows are picked afterwards
        data = apply_chain(maps, list(norm_list)[: k + 1])[..., rows]
        stages.append((f"+ {steps[k]}", units.get(steps[k], "value"), data))
    nr, nc = len(rows), len(stages)
    fig = new_figure((2.55 * nc + 0.4, 1.55 * nr + 0.35), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False)
    cm = colormaps[cmap]
    for c, (stage, unit, data) in enumerate(stages):
        for r, fi in enumerate(rows):
            ax = axes[r, c]
            v = data[..., r].ravel()
            v = v[np.isfinite(v)]
            counts, edges = np.histogram(v, bins=bins)
            lo, hi = (edges[0], edges[-1]) if edges[-1] > edges[0] else (edges[0] - 1, edges[0] + 1)
            centres = 0.5 * (edges[1:] + edges[:-1])
            ax.bar(centres, counts, width=np.diff(edges), color=cm((centres - lo) / (hi - lo)), linewidth=0)
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(stage, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{names[fi]}\npixels", fontsize=8)
            if r == nr - 1:
                ax.set_xlabel(unit, fontsize=8)
    return fig
