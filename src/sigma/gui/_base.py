"""Widget plumbing shared by the GUI functions: panels, status line, errors, progress, images.

Nothing here knows any science: it shows figures, reports what happened and catches errors so
they appear in the widget instead of the console.
"""

from __future__ import annotations

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


def png_widget(fig, css: str = "sigma-figure", dpi: int = 100) -> widgets.Image:
    """A matplotlib figure rendered once as a PNG ``Image`` widget."""
    from ..plot import figure_to_png

    img = widgets.Image(value=figure_to_png(fig, dpi=dpi), format="png")
    img.layout.max_width = "100%"
    img.add_class(css)
    img.add_class("sigma-figure")
    return img


def set_png(img: widgets.Image, fig, dpi: int = 100) -> None:
    """Replace the picture of a ``png_widget`` with a new figure."""
    from ..plot import figure_to_png

    img.value = figure_to_png(fig, dpi=dpi)


class Panel(widgets.VBox):
    """A ``VBox`` with a status line, a progress bar and error reporting.

    Attributes
    ----------
    status : ipywidgets.Label
        CSS class ``sigma-status``; says what the last action did (``sigma-error`` is added
        while it reports an error).
    progress : ipywidgets.IntProgress
        CSS class ``sigma-progress``; visible only during long work.
    buttons : dict
        Buttons by their description.
    last_error : Exception or None
        The error of the last action, if it failed.
    """

    def __init__(self, children=(), **kw):
        self.status = widgets.Label(value="")
        self.status.add_class("sigma-status")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="")
        self.progress.add_class("sigma-progress")
        self.progress.layout.visibility = "hidden"
        self.progress.layout.height = "0px"
        self.buttons: dict[str, widgets.Button] = {}
        self.last_error: Exception | None = None
        super().__init__(children=[*children], **kw)
        self.add_class("sigma-panel")

    def set_body(self, *children) -> None:
        self.children = [*children, self.progress, self.status]

    def say(self, text: str) -> None:
        """Show ``text`` in the status line (and log it)."""
        self.status.value = text
        self.status.remove_class("sigma-error")
        log.info("%s", text)

    def fail(self, action: str, exc: Exception) -> None:
        """Show an error in the status line."""
        self.last_error = exc
        self.status.value = f"Error in {action}: {exc}"
        self.status.add_class("sigma-error")
        log.info("%s failed: %s", action, exc)
        log.debug("traceback of the failed %s", action, exc_info=exc)

    def run(self, action: str, fn, *args, **kw):
        """Run ``fn``; its returned text goes to the status line, an exception is shown there."""
        try:
            msg = fn(*args, **kw)
        except Exception as exc:  # noqa: BLE001 - every failure must reach the widget
            self.fail(action, exc)
            return None
        self.last_error = None
        if isinstance(msg, str):
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
        p.layout.visibility, p.layout.height = "visible", "auto"

        def step(text: str | None = None):
            p.value = min(p.value + 1, p.max)
            if text:
                p.description = text

        try:
            yield step
        finally:
            p.layout.visibility, p.layout.height = "hidden", "0px"
