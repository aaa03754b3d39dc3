"""Bokeh figure builders for the interactive views (no widgets; wrap them with jupyter_bokeh).

Columns are float32/int32 NumPy arrays, so Bokeh sends them as binary buffers; colours are
given as a small palette plus a per-point integer code (``ci``), so recolouring sends only
the palette and merging only an int column. Lasso and box selection report once on release
(``continuous=False``) and the big scatter draws with WebGL.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bar_figure",
    "color_codes",
    "image_figure",
    "latent_figure",
    "rgba_uint32",
    "set_image",
    "spectra_figure",
]

_TOOLS_ACTIVE_DRAG = "lasso"


def color_codes(point_labels: np.ndarray, colors: dict[int, str]) -> tuple[np.ndarray, list[str]]:
    """Integer colour code per point and the palette it indexes (sorted cluster ids).

    Examples
    --------
    >>> import numpy as np
    >>> color_codes(np.array([3, -1, 3, 5]), {-1: "#777777", 3: "#ff0000", 5: "#00ff00"})
    (array([1, 0, 1, 2], dtype=int32), ['#777777', '#ff0000', '#00ff00'])
    """
    ids = np.array(sorted(colors), dtype=np.int64)
    codes = np.searchsorted(ids, np.asarray(point_labels)).astype(np.int32)
    return codes, [colors[int(i)] for i in ids]


def _mapper(palette: list[str]):
    from bokeh.models import LinearColorMapper

    pal = list(palette) if palette else ["#7f7f7f"]
    return LinearColorMapper(palette=pal, low=-0.5, high=len(pal) - 0.5)


def latent_figure(x, y, codes, palette, *, title: str = "Latent space", width: int = 560,
                  height: int = 520, size: float = 3.0, tap: bool = True):
    """Scatter of latent points coloured by code, with box, lasso, tap and wheel zoom.

    Returns
    -------
    fig, source, renderer, color_mapper

    Examples
    --------
    >>> import numpy as np
    >>> fig, src, r, cm = latent_figure(np.zeros(3), np.ones(3), np.array([0, 1, 1]), ["#000000", "#ff0000"])
    >>> sorted(src.data), cm.palette
    (['ci', 'x', 'y'], ['#000000', '#ff0000'])
    """
    from bokeh.models import (
        BoxSelectTool,
        ColumnDataSource,
        LassoSelectTool,
        ResetTool,
        SaveTool,
        TapTool,
        WheelZoomTool,
    )
    from bokeh.plotting import figure

    source = ColumnDataSource({
        "x": np.asarray(x, dtype=np.float32),
        "y": np.asarray(y, dtype=np.float32),
        "ci": np.asarray(codes, dtype=np.int32),
    })
    mapper = _mapper(palette)
    lasso = LassoSelectTool(continuous=False)
    box = BoxSelectTool(continuous=False)
    tools = ["pan", WheelZoomTool(), box, lasso, ResetTool(), SaveTool()]
    if tap:
        tools.insert(4, TapTool())
    fig = figure(title=title, width=width, height=height, tools=tools, output_backend="webgl",
                 active_drag=lasso, active_scroll=tools[1], match_aspect=True)
    r = fig.scatter("x", "y", source=source, size=size, line_color=None,
                    fill_color={"field": "ci", "transform": mapper})
    r.selection_glyph = None
    r.nonselection_glyph.fill_alpha = 0.08
    fig.xaxis.axis_label = "latent 1"
    fig.yaxis.axis_label = "latent 2"
    fig.toolbar.logo = None
    return fig, source, r, mapper


def rgba_uint32(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` float RGBA in [0, 1] → ``(H, W)`` uint32 for Bokeh's ``image_rgba``.

    Examples
    --------
    >>> import numpy as np
    >>> hex(int(rgba_uint32(np.array([[[1.0, 0.0, 0.0, 1.0]]]))[0, 0]))
    '0xff0000ff'
    """
    a = np.clip(np.asarray(rgba, dtype=float) * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a).view(np.uint32)[..., 0]


def image_figure(nav: np.ndarray, overlay_rgba: np.ndarray | None = None, *, title: str = "Phase map",
                 width: int = 520, selectable: bool = True, pixel_size=None, max_height: int = 620):
    """Navigation image (grey) with an RGBA cluster overlay and a selection highlight layer.

    Pixel ``(i, j)`` covers ``x ∈ [j, j+1]`` and ``y ∈ [H-i-1, H-i]`` (row 0 at the top), in
    pixels or, with ``pixel_size=(size, unit)``, in that unit (then a Bokeh ``ScaleBar`` follows
    the zoom); the arrays are flipped so Bokeh's bottom-left image anchor ``(0, 0)`` needs no
    reversed axis. With ``selectable`` an invisible scatter of pixel centres takes box
    selections; its point ``k`` is pixel ``k`` of the row-major ``(H, W)`` grid.

    Returns
    -------
    dict with ``fig``, ``overlay`` (image_rgba source), ``highlight`` (image_rgba source),
    ``pixels`` (pixel-centre source, or None), ``shape`` and ``scale_bar`` (or None).

    Examples
    --------
    >>> import numpy as np
    >>> v = image_figure(np.zeros((2, 3)))
    >>> v["pixels"].data["y"].tolist()  # row 0 is drawn at the top
    [1.5, 1.5, 1.5, 0.5, 0.5, 0.5]
    >>> v = image_figure(np.zeros((2, 3)), pixel_size=(8.74, "µm"))
    >>> v["fig"].x_range.end, v["scale_bar"].unit
    (26.22, 'µm')
    """
    from bokeh.models import BoxSelectTool, ColumnDataSource, Range1d
    from bokeh.plotting import figure

    nav = np.nan_to_num(np.asarray(nav, dtype=np.float32))
    h, w = nav.shape
    s = 1.0 if pixel_size is None else float(pixel_size[0])
    W, H = w * s, h * s
    height = int(max(120, min(max_height, width * h / max(w, 1))))
    width = int(min(width, max(120, height * w / max(h, 1)))) if height == max_height else width
    box = BoxSelectTool(continuous=False)
    fig = figure(title=title, width=width, height=height, tools=["pan", "wheel_zoom", box, "reset", "save"],
                 x_range=Range1d(0, W, bounds=(0, W)), y_range=Range1d(0, H, bounds=(0, H)),
                 active_drag=box)
    fig.image([nav[::-1]], x=0, y=0, dw=W, dh=H, palette="Greys256")
    empty = np.zeros((h, w), dtype=np.uint32)
    ov = np.zeros((h, w), np.uint32) if overlay_rgba is None else rgba_uint32(overlay_rgba)
    overlay = ColumnDataSource({"image": [ov[::-1]]})
    fig.image_rgba("image", source=overlay, x=0, y=0, dw=W, dh=H)
    highlight = ColumnDataSource({"image": [empty]})
    fig.image_rgba("image", source=highlight, x=0, y=0, dw=W, dh=H)
    pixels = None
    if selectable:
        jj, ii = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        pixels = ColumnDataSource({"x": ((jj + 0.5) * s).ravel(), "y": ((h - ii - 0.5) * s).ravel()})
        pr = fig.scatter("x", "y", source=pixels, size=2, alpha=0.0)
        pr.selection_glyph = None
        pr.nonselection_glyph = None
        box.renderers = [pr]
    bar = None
    if pixel_size is not None:
        from bokeh.models import MetricLength, ScaleBar

        bar = ScaleBar(range=fig.x_range, unit=str(pixel_size[1]), dimensional=MetricLength(),
                       location="bottom_right", bar_length=0.25, background_fill_alpha=0.75,
                       label_text_font_size="11px", name="scale-bar")
        fig.add_layout(bar)
    fig.axis.visible = False
    fig.grid.visible = False
    fig.toolbar.logo = None
    return {"fig": fig, "overlay": overlay, "highlight": highlight, "pixels": pixels, "shape": (h, w),
            "scale_bar": bar}


def set_image(source, rgba: np.ndarray) -> None:
    """Replace the RGBA image of an ``image_figure`` layer (row 0 at the top).

    Examples
    --------
    >>> import numpy as np
    >>> v = image_figure(np.zeros((2, 3)))
    >>> rgba = np.zeros((2, 3, 4))
    >>> rgba[0, 0] = [1.0, 0.0, 0.0, 1.0]  # top-left pixel opaque red
    >>> set_image(v["overlay"], rgba)
    >>> v["overlay"].data["image"][0].shape, hex(int(v["overlay"].data["image"][0][1, 0]))
    ((2, 3), '0xff0000ff')
    """
    source.data = {"image": [rgba_uint32(rgba)[::-1]]}


def bar_figure(names, *, y_range=(0.0, 1.0), title: str = "Mean feature values of the selection",
               width: int = 520, height: int = 300, y_label: str = "mean feature value"):
    """Bar chart of one value per feature with a fixed y range (comparable between selections).

    Returns
    -------
    fig, source

    Examples
    --------
    >>> fig, src = bar_figure(["Fe_Ka", "Si_Ka"], y_range=(-2, 3))
    >>> (fig.y_range.start, fig.y_range.end), src.data["value"].tolist()
    ((-2.0, 3.0), [0.0, 0.0])
    """
    from bokeh.models import ColumnDataSource, FactorRange, Range1d
    from bokeh.plotting import figure

    names = [str(n) for n in names]
    src = ColumnDataSource({"name": names, "value": np.zeros(len(names)), "color": ["#1f77b4"] * len(names)})
    fig = figure(title=title, width=width, height=height, x_range=FactorRange(*names),
                 y_range=Range1d(float(y_range[0]), float(y_range[1])), tools="save")
    fig.vbar(x="name", top="value", width=0.8, source=src, fill_color="color", line_color=None)
    fig.xaxis.major_label_orientation = 0.9
    fig.xaxis.axis_label = "feature"
    fig.yaxis.axis_label = y_label
    fig.toolbar.logo = None
    return fig, src


def spectra_figure(energy, spectra: dict, colors: dict, *, lines: dict | None = None,
                   x_range=None, title: str = "Cluster spectra", width: int = 700, height: int = 320):
    """Line plot of spectra (``{id: (C,) array}``) in their cluster colours on an energy axis.

    Feature lines (``{name: keV}``) are marked at their energies.

    Returns
    -------
    fig, renderers
        ``renderers[id]`` is the line of spectrum ``id`` (a widget can show and hide it).

    Examples
    --------
    >>> import numpy as np
    >>> fig, rs = spectra_figure(np.arange(4.0), {0: np.ones(4)}, {0: "#ff0000"}, lines={"X": 2.0})
    >>> list(rs)
    [0]
    """
    from bokeh.models import Label, Range1d, Span
    from bokeh.plotting import figure

    e = np.asarray(energy, dtype=np.float32)
    lo, hi = (float(e[0]), float(e[-1])) if x_range is None else map(float, x_range)
    fig = figure(title=title, width=width, height=height, x_range=Range1d(lo, hi),
                 tools="pan,xwheel_zoom,box_zoom,reset,save")
    renderers = {}
    for k, y in spectra.items():
        renderers[k] = fig.line(e, np.asarray(y, dtype=np.float32), color=colors.get(k, "#7f7f7f"),
                                line_width=1.5, legend_label=f"cluster {k}")
    for name, en in (lines or {}).items():
        fig.add_layout(Span(location=float(en), dimension="height", line_color="#999999", line_dash="dotted"))
        fig.add_layout(Label(x=float(en), y=0, y_units="screen", text=name, angle=1.5708,
                             text_font_size="8pt", text_color="#555555"))
    if fig.legend:
        fig.legend.click_policy = "hide"
        fig.legend.label_text_font_size = "8pt"
    fig.xaxis.axis_label = "Energy (keV)"
    fig.toolbar.logo = None
    return fig, renderers
