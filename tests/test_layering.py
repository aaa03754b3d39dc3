"""Layering: the numeric core and IO import no plotting or widget library, and ``import sigma``
stays light (checked in fresh interpreters)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

GUI_LIBS = ("matplotlib", "ipywidgets", "bokeh", "jupyter_bokeh", "plotly", "IPython")
CORE = ("sigma", "sigma.io", "sigma.preprocessing", "sigma.clustering", "sigma.unmixing", "sigma.xray",
        "sigma.embedding", "sigma.datasets", "sigma.pipeline", "sigma._display")


def _imported(module: str) -> list[str]:
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({k.split('.')[0] for k in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import_no_plotting_or_widgets(module):
    assert not set(_imported(module)) & set(GUI_LIBS), module


def test_import_sigma_is_light():
    mods = set(_imported("sigma"))
    assert not mods & {"numpy", "hyperspy", "torch", "sklearn", "umap", *GUI_LIBS}
