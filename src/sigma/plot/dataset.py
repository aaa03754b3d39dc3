"""Figures of a dataset: navigation image, sum spectrum, feature maps, pixel distributions."""

from __future__ import annotations

import logging

import numpy as np

from .._errors import bad_value
from ._figure import _ax_or_new, _grid, _spectrum_signal, new_figure
from .colors import palette

log = logging.getLogger(__name__)


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
