"""HTML legends and captions shown beside the figures: which colour is which, and how big.

A legend lists every cluster with its colour swatch, its id and name (``ps.cluster_names``,
once known) and its area fraction; each entry is a ``.sigma-legend-item`` with a
``data-cluster`` attribute, so a test (or a user's stylesheet) can find it. Text stays crisp at
any zoom, and the legend updates with the segmenter (see :meth:`ClusterLegend.update`).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from ..plot.annotate import cluster_label, format_length, pixel_size, scale_bar_length
from ..plot.clusters import measured_pixels
from ..plot.colors import cluster_colors

__all__ = ["ClusterLegend", "calibration_caption", "legend_html"]


def legend_html(ps, ids=None, *, title: str = "Clusters", rows_per_column: int = 18) -> str:
    """The legend of segmenter ``ps`` as HTML (all clusters, or ``ids``; noise last).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> text = legend_html(ps)
    >>> text.count('class="sigma-legend-item"'), 'data-cluster="2"' in text
    (3, True)
    """
    cols = cluster_colors(ps)
    lab = np.asarray(ps.labels)
    uniq, cnt = np.unique(lab, return_counts=True)
    counts = dict(zip(uniq.tolist(), cnt.tolist(), strict=True))
    shown = [i for i in cols if i >= 0] if ids is None else [int(i) for i in ids if int(i) in cols]
    if -1 in counts and (ids is None or -1 in [int(i) for i in ids]):
        shown.append(-1)
    n_px = measured_pixels(ps, lab)
    items = []
    for i in shown:
        c = cols.get(i, "#7f7f7f")
        pct = 100 * counts.get(i, 0) / n_px
        items.append(
            f'<div class="sigma-legend-item" data-cluster="{i}" title="{counts.get(i, 0):,} px">'
            f'<span class="sigma-swatch-box" style="background:{html.escape(c)}"></span>'
            f"{html.escape(cluster_label(ps, i))} <span style='color:#777'>{pct:.1f} %</span></div>"
        )
    ncol = 1 + (len(items) - 1) // rows_per_column if items else 1
    n_clusters = sum(i >= 0 for i in shown)
    return (f"<div class='sigma-legend-title'><b>{html.escape(title)}</b> ({n_clusters}, % of the area)</div>"
            f"<div class='sigma-legend-items' style='column-count:{ncol}'>{''.join(items)}</div>")


class ClusterLegend(widgets.HTML):
    """An HTML legend of a segmenter's clusters (class ``sigma-legend``).

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> leg = ClusterLegend(ps)
    >>> ps.merge_clusters([0, 1])
    >>> leg.update()
    >>> leg.ids
    [0, 2]
    """

    def __init__(self, ps, ids=None, title: str = "Clusters", **kw):
        super().__init__(**kw)
        self.add_class("sigma-legend")
        self.ps, self.title, self.ids = ps, title, []
        self.update(ids)

    def update(self, ids=None) -> None:
        """Redraw from the segmenter (only ``ids`` when given)."""
        cols = cluster_colors(self.ps)
        self.ids = [i for i in cols if i >= 0] if ids is None else [int(i) for i in ids if int(i) in cols]
        self.value = legend_html(self.ps, ids, title=self.title)


def calibration_caption(obj, n_pixels: int | None = None) -> str:
    """One line saying the pixel size (and the scale bar drawn), or that there is none.

    Examples
    --------
    >>> calibration_caption((26.21, "µm"), 33)
    'Pixel 26.2 µm; scale bar 200 µm.'
    >>> calibration_caption((0.00154, "µm"), 32)
    'Pixel 1.54 nm; scale bar 10 nm.'
    >>> calibration_caption(None)
    'No spatial calibration in the file (axes in pixels): no scale bar.'
    """
    calib = obj if isinstance(obj, tuple) or obj is None else pixel_size(obj)
    if calib is None:
        return "No spatial calibration in the file (axes in pixels): no scale bar."
    size, unit = calib
    text = f"Pixel {format_length(size, unit)}"
    ds = getattr(obj, "dataset", obj)
    fy, fx = getattr(ds, "bin_size", (1, 1)) or (1, 1)
    if (fy, fx) != (1, 1):
        text += f" (binned {fy}×{fx})"
    if n_pixels:
        v, u, _ = scale_bar_length(size, unit, n_pixels)
        text += f"; scale bar {v:g} {u}"
    return text + "."
