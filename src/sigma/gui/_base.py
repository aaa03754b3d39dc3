"""Widget plumbing shared by the GUI functions: panels, status line, errors, progress, images.

Nothing here knows any science: it shows figures, reports what happened and catches errors so
they appear in the widget instead of the console.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import contextmanager

import ipywidgets as widgets

log = logging.getLogger(__name__)

_BOKEH_LOADED = False


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets render)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    ip = get_ipython()
    return ip is not None and hasattr(ip, "kernel")


def load_bokeh(force: bool = False) -> bool:
    """Load BokehJS into the notebook page from the installed package (no CDN, works offline).

    jupyter_bokeh's widget waits for ``window.Bokeh``; this runs ``output_notebook`` with
    inline resources once per kernel (again with ``force=True``, e.g. after reloading the page without
    restarting the kernel). Outside a kernel it does nothing.

    Returns
    -------
    bool
        Whether the resources were sent.

    Examples
    --------
    Run it once at the top of a notebook, before the first interactive view:

    >>> from sigma.gui import gui
    >>> gui.load_bokeh()  # outside a Jupyter kernel: nothing to do
    False
    """
    global _BOKEH_LOADED
    if (_BOKEH_LOADED and not force) or not in_kernel():
        return False
    from bokeh.io import output_notebook
    from bokeh.resources import Resources

    # inline like bokeh.resources.INLINE, but only the core and WebGL (about 1.5 MB instead of
    # 3.9 MB in the notebook: no widgets, tables or MathJax are used)
    output_notebook(Resources(mode="inline", components=["bokeh", "bokeh-gl"]), hide_banner=True)
    _BOKEH_LOADED = True
    return True


def bokeh_widget(fig, css: str | None = None):
    """An ipywidget showing a Bokeh figure/layout, synchronised both ways (jupyter_bokeh)."""
    from jupyter_bokeh import BokehModel

    load_bokeh()
    w = BokehModel(fig)
    if css:
        w.add_class(css)
    return w


def button(description: str, css: str, tooltip: str = "", style: str = "") -> widgets.Button:
    """A Button whose ``description`` is the tutorial's text and with a stable CSS class."""
    b = widgets.Button(description=description, tooltip=tooltip or description, button_style=style,
                       layout=widgets.Layout(width="auto"))
    b.add_class(css)
    return b


#: Device pixel ratio figures are rendered for: a PNG shown ``W`` CSS pixels wide holds ``2 W``
#: pixels, so it stays sharp on high-density screens and is never upscaled on ordinary ones.
DEVICE_PIXEL_RATIO = 2
#: CSS pixels per figure inch (matplotlib's default 100 dpi at a device pixel ratio of 1).
CSS_DPI = 100

#: Styles of every SIGMA widget, sent once with each panel (a ``<style>`` in a hidden HTML widget).
CSS = """
.sigma-panel .sigma-status { white-space: normal; overflow: visible; height: auto; line-height: 1.4;
  padding: 2px 8px; margin-top: 2px; border-left: 4px solid transparent; }
.sigma-panel .sigma-status.sigma-error { color: #8e1b1b; background: #fdecea; border-left-color: #d32f2f;
  font-weight: 600; }
.sigma-panel .sigma-status.sigma-warning { color: #6b4200; background: #fff4de; border-left-color: #f0a000; }
.sigma-tabs .lm-TabBar-tab { flex: 0 0 auto !important; min-width: 0 !important; max-width: none !important; }
.sigma-tabs .lm-TabBar-tabLabel { overflow: visible !important; text-overflow: clip !important; }
.sigma-legend { font-size: 12px; line-height: 1.5; }
.sigma-legend .sigma-legend-items { column-gap: 14px; }
.sigma-legend .sigma-legend-item { white-space: nowrap; break-inside: avoid; }
.sigma-legend .sigma-swatch-box { display: inline-block; width: 11px; height: 11px; margin-right: 5px;
  vertical-align: -1px; border: 1px solid rgba(0,0,0,.35); }
.sigma-caption { font-size: 12px; color: #444; }
.sigma-lines table { border-collapse: collapse; font-size: 12px; }
.sigma-lines td, .sigma-lines th { padding: 1px 8px; text-align: left; }
"""


def style_widget() -> widgets.HTML:
    """A hidden HTML widget carrying :data:`CSS` (rules apply page-wide, scoped to sigma classes)."""
    w = widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(display="none"))
    w.add_class("sigma-style")
    return w


def call_soon(fn) -> None:
    """Run ``fn`` after the current kernel message is handled (inside a Jupyter kernel), or now.

    A click that edits the segmenter first redraws its own widget; the other views of the
    segmenter then update in a later event-loop turn, so the click's own answer is not delayed
    by every open view.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        fn()
        return
    loop.call_soon(fn)


def changes_text(changes) -> str:
    """``'merge_clusters, recolour'``: the operations behind a batch of changes, in order."""
    return ", ".join(dict.fromkeys(c.op for c in changes))


def _annotations(fig) -> dict:
    """Texts a reader relies on, read from a figure: colour-bar labels, scale bars, legends,
    axis labels (kept with the widget so tests and scripts can check them)."""
    cbars, bars, legends, axes = [], [], [], []
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            cbars.append(ax.get_ylabel() or ax.get_xlabel())
            continue
        for art in ax.artists:
            if art.get_gid() == "scale-bar":
                bars.append(art.txt_label.get_text())
        leg = ax.get_legend()
        if leg is not None:
            legends.append([t.get_text() for t in leg.get_texts()])
        if ax.get_visible() and ax.axison:
            axes.append((ax.get_xlabel(), ax.get_ylabel()))
    return {"colorbar_labels": cbars, "scale_bars": bars, "legends": legends, "axis_labels": axes}


def png_widget(fig, css: str = "sigma-figure", dpr: float = DEVICE_PIXEL_RATIO) -> widgets.Image:
    """A matplotlib figure as an ``Image`` widget shown at its natural size, never stretched.

    The PNG is rendered at ``dpr`` times the display size (crisp on high-density screens) and
    the widget is given the figure's size in CSS pixels (``CSS_DPI`` per inch), so the browser
    only ever scales it down. ``img.annotations`` keeps the figure's colour-bar labels, scale
    bars, legends and axis labels.
    """
    img = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto",
                                                            align_self="flex-start", flex="0 0 auto"))
    img.add_class(css)
    img.add_class("sigma-figure")
    set_png(img, fig, dpr)
    return img


def set_png(img: widgets.Image, fig, dpr: float = DEVICE_PIXEL_RATIO) -> None:
    """Replace the picture of a ``png_widget`` with a new figure (and its display size)."""
    from ..plot import figure_to_png

    w_in, h_in = fig.get_size_inches()
    png = figure_to_png(fig, dpi=int(round(CSS_DPI * dpr)))
    img.annotations = _annotations(fig)
    img.css_size = (int(round(w_in * CSS_DPI)), int(round(h_in * CSS_DPI)))
    img.layout.width = f"{img.css_size[0]}px"
    img.value = png


class Panel(widgets.VBox):
    """A ``VBox`` with a status line, a progress bar, error reporting and change following.

    Attributes
    ----------
    status : ipywidgets.Label
        CSS class ``sigma-status``; says what the last action did. Errors are shown in red with
        a ✖ (class ``sigma-error``), warnings in amber with a ⚠ (class ``sigma-warning``).
    progress : ipywidgets.IntProgress
        CSS class ``sigma-progress``; shown only during long work.
    buttons : dict
        Buttons by their description.
    last_error : Exception or None
        The error of the last action, if it failed.
    updates : list of str
        What the panel did after each change of the segmenter it follows (newest last).
    """

    def __init__(self, children=(), **kw):
        self.status = widgets.Label(value="")
        self.status.add_class("sigma-status")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="")
        self.progress.add_class("sigma-progress")
        self.progress.layout.display = "none"
        self.buttons: dict[str, widgets.Button] = {}
        self.last_error: Exception | None = None
        self.updates: list[str] = []
        self._style = style_widget()
        self._followed = None
        self._pending: list = []
        self._scheduled = False
        self._own_edit = 0
        super().__init__(children=[*children], **kw)
        self.add_class("sigma-panel")

    def set_body(self, *children) -> None:
        self.children = [*children, self.progress, self.status, self._style]

    def _set_status(self, text: str, kind: str | None) -> None:
        for k in ("sigma-error", "sigma-warning"):
            self.status.remove_class(k)
        if kind:
            self.status.add_class(f"sigma-{kind}")
        self.status.value = text

    def say(self, text: str) -> None:
        """Show ``text`` in the status line (and log it)."""
        self._set_status(text, None)
        log.info("%s", text)

    def warn(self, text: str) -> None:
        """Show a warning (amber, ⚠) in the status line."""
        self._set_status(f"⚠ {text}", "warning")
        log.warning("%s", text)

    def fail(self, action: str, exc: Exception) -> None:
        """Show an error (red, ✖) in the status line."""
        self.last_error = exc
        self._set_status(f"✖ Error in {action}: {exc}", "error")
        log.info("%s failed: %s", action, exc)
        log.debug("traceback of the failed %s", action, exc_info=exc)

    def run(self, action: str, fn, *args, **kw):
        """Run ``fn``; its returned text goes to the status line, an exception is shown there.

        ``fn`` may return ``Warning(text)`` to show a warning instead of a plain message.
        """
        try:
            msg = fn(*args, **kw)
        except Exception as exc:  # noqa: BLE001 - every failure must reach the widget
            self.fail(action, exc)
            return None
        self.last_error = None
        if isinstance(msg, Warning):
            self.warn(str(msg))
        elif isinstance(msg, str):
            self.say(msg)
        return msg

    def on_click(self, btn: widgets.Button, action: str, fn) -> None:
        """Wire a button so its action's result or error shows in the status line."""
        btn.on_click(lambda _b: self.run(action, fn))
        self.buttons[btn.description] = btn

    @contextmanager
    def busy(self, total: int, description: str = ""):
        """Show the progress bar for ``total`` steps; yields a function advancing it by one."""
        p = self.progress
        p.max, p.value, p.description = max(int(total), 1), 0, description
        p.layout.display = "flex"

        def step(text: str | None = None):
            p.value = min(p.value + 1, p.max)
            if text:
                p.description = text

        try:
            yield step
        finally:
            p.layout.display = "none"

    # ------------------------------------------------------------------ following a segmenter
    def follow(self, ps, on_change, kinds=("labels", "colors", "names")) -> None:
        """Update this panel after every change of segmenter ``ps`` of one of ``kinds``.

        ``on_change(changes)`` receives the :class:`~sigma.clustering._observers.Change`
        objects since the last update (several edits in one click arrive together) and returns
        the status text (or a ``Warning``). It runs after the current kernel message (see
        :func:`call_soon`); changes made by this panel itself inside :meth:`editing` are
        skipped, since the panel redraws itself right away.
        """
        self._followed = ps
        self._on_change = on_change
        self._kinds = frozenset(kinds)
        ps.observe(self._segmenter_changed)

    @contextmanager
    def editing(self):
        """Edits made inside this block are this panel's own (it redraws itself)."""
        self._own_edit += 1
        try:
            yield
        finally:
            self._own_edit -= 1

    def _segmenter_changed(self, change) -> None:
        if getattr(self, "comm", None) is None:  # the widget was closed: stop following
            change.segmenter.unobserve(self._segmenter_changed)
            return
        if self._own_edit or change.what not in self._kinds:
            return
        self._pending.append(change)
        if not self._scheduled:
            self._scheduled = True
            call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        changes, self._pending = self._pending, []
        if not changes or getattr(self, "comm", None) is None:
            return
        msg = self.run("update", self._on_change, changes)
        self.updates.append(str(msg) if msg is not None else f"failed: {self.last_error}")


class Pager(widgets.HBox):
    """"◀ / page list / ▶" over ``n`` items shown ``per_page`` at a time (class ``sigma-pager``).

    ``pager.items`` are the item indices of the current page; ``on_change(fn)`` calls ``fn()``
    after every page change.

    Examples
    --------
    >>> p = Pager(10, 4, noun="cluster", names=[str(i) for i in range(10)])
    >>> p.items, p.page.options[-1][0]
    ([0, 1, 2, 3], 'clusters 8–9 of 10')
    >>> p.next.click()
    >>> p.items
    [4, 5, 6, 7]
    """

    def __init__(self, n: int, per_page: int, noun: str = "item", names=None):
        self.prev = widgets.Button(description="◀", tooltip=f"previous {noun}s",
                                   layout=widgets.Layout(width="36px"))
        self.next = widgets.Button(description="▶", tooltip=f"next {noun}s", layout=widgets.Layout(width="36px"))
        self.page = widgets.Dropdown(layout=widgets.Layout(width="auto"))
        self._fns = []
        super().__init__([self.prev, self.page, self.next])
        self.add_class("sigma-pager")
        self.prev.add_class("sigma-page-prev")
        self.next.add_class("sigma-page-next")
        self.page.add_class("sigma-page")
        self.noun = noun
        self.per_page = max(int(per_page), 1)
        self.set_items(n, names)
        self.prev.on_click(lambda _b: self._step(-1))
        self.next.on_click(lambda _b: self._step(+1))
        self.page.observe(lambda _c: self._changed(), names="value")

    def set_items(self, n: int, names=None) -> None:
        """Re-page ``n`` items (e.g. after clusters were merged), keeping the page if it exists."""
        self.n = int(n)
        self.names = list(names) if names is not None else [str(i) for i in range(self.n)]
        pages = max(1, -(-self.n // self.per_page))
        opts = []
        for p in range(pages):
            a, b = p * self.per_page, min((p + 1) * self.per_page, self.n) - 1
            span = self.names[a] if a == b else f"{self.names[a]}–{self.names[b]}" if self.n else "none"
            opts.append((f"{self.noun}s {span} of {self.n}", p))
        old = self.page.value if self.page.options else 0
        with self.hold_trait_notifications():
            self.page.options = opts
            self.page.value = min(old or 0, pages - 1)
        self.layout.display = "flex" if pages > 1 else "none"

    @property
    def items(self) -> list[int]:
        p = int(self.page.value or 0)
        return list(range(p * self.per_page, min((p + 1) * self.per_page, self.n)))

    def on_change(self, fn) -> None:
        self._fns.append(fn)

    def _step(self, d: int) -> None:
        n_pages = len(self.page.options)
        self.page.value = (int(self.page.value or 0) + d) % n_pages

    def _changed(self) -> None:
        for fn in self._fns:
            fn()
