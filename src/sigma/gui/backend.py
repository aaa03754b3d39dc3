"""The plotting-backend interface of the interactive views, and its Bokeh implementation.

The GUI talks to the big latent scatter and to the image only through :class:`LatentScatter`
and :class:`MapView`, so the backend (Bokeh through jupyter_bokeh today; jupyter-scatter or
plotly would fit) can change without touching the widget logic. Tests drive the Python half:
``set_selection(indices, geometry)`` behaves like a selection made in the browser.

Geometries are dicts as Bokeh's ``SelectionGeometry`` event sends them: ``{'type': 'poly',
'x': [...], 'y': [...]}`` for the lasso, ``{'type': 'rect', 'x0', 'x1', 'y0', 'y1'}`` for the
box, ``{'type': 'point', 'x', 'y'}`` for a click.
"""

from __future__ import annotations

import abc
import logging

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["BokehLatentScatter", "BokehMapView", "LatentScatter", "MapView", "geometry_to_region"]


def geometry_to_region(geometry: dict | None):
    """A selection geometry as a latent region: ``(V, 2)`` polygon vertices or a box
    ``(xmin, ymin, xmax, ymax)``; ``None`` for a click or no geometry.

    Examples
    --------
    >>> geometry_to_region({"type": "rect", "x0": 2, "x1": 0, "y0": 0, "y1": 1})
    (0.0, 0.0, 2.0, 1.0)
    >>> geometry_to_region({"type": "poly", "x": [0, 1, 0], "y": [0, 0, 1]}).tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    >>> geometry_to_region({"type": "point", "x": 0, "y": 0}) is None
    True
    """
    if not geometry:
        return None
    kind = geometry.get("type")
    if kind == "rect":
        x0, x1 = sorted((float(geometry["x0"]), float(geometry["x1"])))
        y0, y1 = sorted((float(geometry["y0"]), float(geometry["y1"])))
        return (x0, y0, x1, y1)
    if kind == "poly":
        xy = np.column_stack([np.asarray(geometry["x"], float), np.asarray(geometry["y"], float)])
        return xy if len(xy) >= 3 else None
    return None


class LatentScatter(abc.ABC):
    """A scatter of (sub-sampled) latent points with selection, as the GUI needs it.

    Point ``k`` of the scatter is row ``sample[k]`` of the segmenter's latent array; colours
    are a palette indexed by an integer code per point.

    Examples
    --------
    :class:`BokehLatentScatter` is the implementation the GUI uses:

    >>> import numpy as np
    >>> sc = BokehLatentScatter(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0]),
    ...                         np.array([0, 1, 1]), ["#1f77b4", "#ff7f0e"])
    >>> isinstance(sc, LatentScatter)
    True
    >>> picked = []
    >>> sc.on_select(picked.append)
    >>> sc.set_selection([0, 2])
    >>> sc.selection.tolist(), picked[0].tolist()
    ([0, 2], [0, 2])
    >>> sc.clear_selection()
    >>> sc.selection.tolist()
    []
    """

    widget = None

    def __init__(self):
        self._select_cbs = []
        self._clear_cbs = []
        self._geometry_cbs = []
        self._geometries: list[dict] = []

    # -- drawing
    @abc.abstractmethod
    def set_colors(self, codes: np.ndarray, palette: list[str]) -> None:
        """Colour point ``k`` with ``palette[codes[k]]``."""

    # -- selection
    @property
    @abc.abstractmethod
    def selection(self) -> np.ndarray:
        """Indices of the selected points (into the scatter, not the latent array)."""

    @abc.abstractmethod
    def _show_selection(self, indices: np.ndarray) -> None:
        """Display ``indices`` as selected without notifying anyone."""

    @property
    def geometries(self) -> list[dict]:
        """Region geometries (lasso/box) of the current selection; empty for clicks."""
        return list(self._geometries)

    def set_selection(self, indices, geometry: dict | None = None, notify: bool = True) -> None:
        """Select points as a browser selection would (``geometry`` is what the tool drew)."""
        idx = np.unique(np.asarray(indices, dtype=np.int64))
        self._geometries = [geometry] if geometry_to_region(geometry) is not None else []
        self._show_selection(idx)
        if notify:
            self._notify(idx)

    def clear_selection(self, notify: bool = True) -> None:
        """Deselect everything (also what a double click does)."""
        self._geometries = []
        self._show_selection(np.zeros(0, dtype=np.int64))
        if notify:
            for cb in self._clear_cbs:
                cb()

    def on_select(self, callback) -> None:
        """Call ``callback(indices)`` whenever the user (or :meth:`set_selection`) selects."""
        self._select_cbs.append(callback)

    def on_geometry(self, callback) -> None:
        """Call ``callback(geometry)`` when the browser reports a tool's final geometry
        (it may arrive just after the selected indices)."""
        self._geometry_cbs.append(callback)

    def on_clear(self, callback) -> None:
        """Call ``callback()`` when the selection is cleared (double click)."""
        self._clear_cbs.append(callback)

    def _notify(self, idx: np.ndarray) -> None:
        for cb in self._select_cbs:
            cb(idx)


class BokehLatentScatter(LatentScatter):
    """:class:`LatentScatter` drawn by Bokeh (WebGL) inside a jupyter_bokeh widget.

    Lasso and box report once on release; the selected indices and the tool's geometry come
    back to Python through ``source.selected`` and the ``SelectionGeometry`` event; a double
    click clears the selection.

    Examples
    --------
    >>> import numpy as np
    >>> sc = BokehLatentScatter(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0]),
    ...                         np.array([0, 1, 1]), ["#1f77b4", "#ff7f0e"])
    >>> sc.set_colors([1, 1, 0], ["#000000", "#ffffff"])
    >>> sc.palette, sc.codes.tolist()
    (['#000000', '#ffffff'], [1, 1, 0])
    >>> sc.widget  # doctest: +SKIP
    """

    def __init__(self, x, y, codes, palette, *, title: str = "Latent space", tap: bool = True,
                 css: str = "sigma-latent", width: int = 560, height: int = 520):
        super().__init__()
        from bokeh.events import DoubleTap, SelectionGeometry

        from ..gui._base import bokeh_widget
        from ..plot.interactive import latent_figure

        self.fig, self.source, self.renderer, self.mapper = latent_figure(x, y, codes, palette, title=title, tap=tap,
                                                                          width=width, height=height)
        self._muted = False
        self._last_set = None  # the selection Python last sent to the browser (echo suppression)
        self.source.selected.on_change("indices", self._on_indices)
        self.fig.on_event(SelectionGeometry, self._on_geometry)
        self.fig.on_event(DoubleTap, lambda _e: self.clear_selection())
        self.widget = bokeh_widget(self.fig, css)

    def set_colors(self, codes, palette) -> None:
        pal = list(palette) or ["#7f7f7f"]
        codes = np.asarray(codes, dtype=np.int32)
        if not np.array_equal(codes, self.source.data["ci"]):
            self.source.data["ci"] = codes
        if list(self.mapper.palette) != pal:
            self.mapper.update(palette=pal, low=-0.5, high=len(pal) - 0.5)

    @property
    def palette(self) -> list[str]:
        """The colours of the scatter (index ``codes[k]`` colours point ``k``)."""
        return list(self.mapper.palette)

    @property
    def codes(self) -> np.ndarray:
        """The integer colour code of each point, as last set by :meth:`set_colors`."""
        return np.asarray(self.source.data["ci"])

    @property
    def selection(self) -> np.ndarray:
        return np.asarray(self.source.selected.indices, dtype=np.int64)

    def _show_selection(self, indices) -> None:
        self._muted = True
        try:
            self._last_set = np.asarray(indices, dtype=np.int64)
            self.source.selected.indices = self._last_set.tolist()
        finally:
            self._muted = False

    def _on_indices(self, _attr, _old, new) -> None:
        if self._muted:
            return
        new = np.asarray(new, dtype=np.int64)
        # jupyter_bokeh runs the callbacks for every browser message, also for the browser's
        # echo of a selection Python just set (e.g. the cleared one): ignore that echo
        if self._last_set is not None and np.array_equal(new, self._last_set):
            return
        self._last_set = None
        self._notify(new)

    def _on_geometry(self, event) -> None:
        if getattr(event, "final", True):
            geom = dict(event.geometry or {})
            self._geometries = [geom] if geometry_to_region(geom) is not None else []
            for cb in self._geometry_cbs:
                cb(geom)


class MapView(abc.ABC):
    """An image of the analysis grid with a cluster overlay, a highlight layer and box selection
    over pixel centres (selection indices are row-major pixel indices).

    Examples
    --------
    :class:`BokehMapView` is the implementation the GUI uses:

    >>> import numpy as np
    >>> view = BokehMapView(np.zeros((3, 4)), np.zeros((3, 4, 4)))
    >>> isinstance(view, MapView)
    True
    >>> picked = []
    >>> view.on_select(picked.append)
    >>> view.set_selection([5, 1])
    >>> picked[0].tolist()
    [1, 5]
    """

    widget = None

    def __init__(self):
        self._select_cbs = []

    def on_select(self, callback) -> None:
        """Call ``callback(pixel_indices)`` when pixels are box-selected."""
        self._select_cbs.append(callback)

    @abc.abstractmethod
    def set_overlay(self, rgba: np.ndarray) -> None:
        """Replace the cluster overlay (``(H, W, 4)`` floats)."""

    @abc.abstractmethod
    def set_highlight(self, rgba: np.ndarray) -> None:
        """Replace the highlight layer (``(H, W, 4)`` floats)."""

    @abc.abstractmethod
    def set_selection(self, pixel_indices, notify: bool = True) -> None:
        """Select pixels as a box selection in the browser would."""


class BokehMapView(MapView):
    """:class:`MapView` drawn by Bokeh.

    Examples
    --------
    >>> import numpy as np
    >>> view = BokehMapView(np.zeros((3, 4)), np.zeros((3, 4, 4)), title="Phases")
    >>> view.shape
    (3, 4)
    >>> highlight = np.zeros((3, 4, 4))
    >>> highlight[0, 0] = [1.0, 0.0, 0.0, 1.0]
    >>> view.set_highlight(highlight)
    >>> view.highlight_rgba.shape, bool(view.highlight_rgba[0, 0])
    ((3, 4), True)
    >>> view.widget  # doctest: +SKIP
    """

    def __init__(self, nav, overlay_rgba, *, title: str = "Phase map", css: str = "sigma-map",
                 pixel_size=None, width: int = 480):
        super().__init__()
        from ..gui._base import bokeh_widget
        from ..plot.interactive import image_figure

        parts = image_figure(nav, overlay_rgba, title=title, pixel_size=pixel_size, width=width)
        self.scale_bar = parts["scale_bar"]
        self.fig = parts["fig"]
        self.overlay, self.highlight, self.pixels = parts["overlay"], parts["highlight"], parts["pixels"]
        self.shape = parts["shape"]
        self._muted = False
        self.pixels.selected.on_change("indices", self._on_indices)
        self.widget = bokeh_widget(self.fig, css)

    def set_overlay(self, rgba) -> None:
        from ..plot.interactive import set_image

        set_image(self.overlay, rgba)

    def set_highlight(self, rgba) -> None:
        from ..plot.interactive import set_image

        set_image(self.highlight, rgba)

    @property
    def highlight_rgba(self) -> np.ndarray:
        """The highlight layer as ``(H, W)`` uint32, row 0 at the top."""
        return np.asarray(self.highlight.data["image"][0])[::-1]

    def set_selection(self, pixel_indices, notify: bool = True) -> None:
        idx = np.unique(np.asarray(pixel_indices, dtype=np.int64))
        self._muted = True
        try:
            self.pixels.selected.indices = idx.tolist()
        finally:
            self._muted = False
        if notify:
            for cb in self._select_cbs:
                cb(idx)

    def _on_indices(self, _attr, _old, new) -> None:
        if self._muted:
            return
        idx = np.asarray(new, dtype=np.int64)
        for cb in self._select_cbs:
            cb(idx)
