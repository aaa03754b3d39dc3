"""Jupyter widgets over the public API; ``from sigma.gui import gui`` gives the tutorial's
functions (:mod:`sigma.gui.gui`). Needs the ``gui`` extra (ipywidgets, bokeh, jupyter_bokeh).
"""

__all__ = ["gui"]


def __getattr__(name):
    if name == "gui":
        from importlib import import_module

        return import_module(".gui", __name__)
    raise AttributeError(name)
