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


def _grid(n: int, ncols: int | None, panel=(2.3, 2.0), shape=None):
    """A constrained-layout figure of ``n`` map panels, ``ncols`` wide (auto: at most 5).

    With ``shape`` ``(H, W)`` the panel height follows the maps' aspect ratio.
    """
    if ncols is None:
        ncols = 5 if n > 4 else max(n, 1)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols)) if n else 1
    pw, ph = panel
    if shape is not None:
        h, w = shape
        ph = float(np.clip((pw - 0.55) * h / max(w, 1), 0.8, 3.0)) + 0.45  # colour bar + title
    fig = new_figure((pw * ncols, ph * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def image_figsize(shape, width: float = 5.0, max_height: float = 4.4, extra_width: float = 0.0,
                  extra_height: float = 0.45) -> tuple[float, float]:
    """Figure size (inches) for an ``(H, W)`` image drawn ``width`` inches wide at most, keeping
    its aspect ratio, plus room for a legend/colour bar (``extra_width``) and a title.

    Examples
    --------
    >>> image_figsize((75, 100))
    (5.0, 4.2)
    >>> image_figsize((200, 100))  # tall maps are limited by the height
    (1.98, 4.4)
    """
    h, w = shape
    aspect = h / max(w, 1)
    img_w = min(width, (max_height - extra_height) / max(aspect, 1e-6))
    return round(img_w + extra_width, 2), round(img_w * aspect + extra_height, 2)


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
