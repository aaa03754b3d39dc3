"""Figure plumbing shared by the matplotlib builders: Agg figures outside pyplot, PNG bytes."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


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


def _subsample(n: int, max_points: int | None, seed: int = 0) -> np.ndarray:
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, int(max_points), replace=False))


def _single_cmap(color):
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("one", ["#f4f4f4", color])
