"""End-to-end tests: the tutorial notebook in JupyterLab, driven in headless chromium.

These tests start a JupyterLab server on 127.0.0.1 (free port, token, private settings) whose
root is a temporary folder, open notebooks in Debian's ``/usr/bin/chromium`` through
Playwright, click "Run All" and then use the widgets as a user would (lasso and box drags on the
Bokeh plots, buttons, text boxes). After each action they check the kernel-side state through a
second kernel client, and save a screenshot to ``$SIGMA_ARTIFACTS/screenshots/`` (default
``<repo>/artifacts/screenshots/``).

Requirements: ``/usr/bin/chromium`` (``apt-get install -y chromium``; CI installs it in
``.ci/run``; ``SIGMA_CHROMIUM`` points elsewhere) and the ``playwright`` Python package; no
``playwright install`` and no network are needed. A missing chromium FAILS these tests. To opt
out on a developer machine, set ``SIGMA_SKIP_BROWSER=1`` (the tests then report as skipped).
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from _jupyter import (
    KernelProbe,
    box_path,
    drag,
    largest_canvas_box,
    lasso_path,
    select_bokeh_tool,
)

pytestmark = pytest.mark.browser

SMOKE_CELLS = [
    """\
import ipywidgets as w
import numpy as np
from bokeh.io import output_notebook
from bokeh.models import BoxSelectTool, ColumnDataSource, LassoSelectTool
from bokeh.plotting import figure
from bokeh.resources import INLINE
from jupyter_bokeh import BokehModel

output_notebook(INLINE, hide_banner=True)""",
    """\
rng = np.random.default_rng(0)
src = ColumnDataSource(dict(x=rng.normal(size=5000), y=rng.normal(size=5000)))
p = figure(width=500, height=400, tools="pan,wheel_zoom,reset", output_backend="webgl")
lasso = LassoSelectTool(continuous=False)
p.add_tools(lasso, BoxSelectTool(continuous=False))
p.toolbar.active_drag = lasso
p.scatter("x", "y", source=src, size=3)
clicks = []
status = w.Label("ready")
status.add_class("sigma-status")
btn = w.Button(description="Count")
btn.add_class("sigma-count")

def on_click(_):
    clicks.append(len(src.selected.indices))
    status.value = f"{len(src.selected.indices)} selected"

btn.on_click(on_click)
w.VBox([BokehModel(p), btn, status])""",
]


def _status_text(nbp, snippet: str) -> str:
    return nbp.output(snippet).locator(".sigma-status").first.inner_text()


def _wait_status(nbp, snippet: str, pattern: str, timeout: float = 60) -> str:
    """Wait until the ``sigma-status`` Label under ``snippet``'s cell matches ``pattern``."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = _status_text(nbp, snippet)
        if re.search(pattern, text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"status Label still {text!r}, expected /{pattern}/ after {timeout} s")


@pytest.mark.timeout(180)
def test_harness_smoke(lab_server, open_notebook):
    """The harness itself: server, chromium, Run All, idle, lasso, button, probe, screenshots."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in SMOKE_CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab_server.root_dir / "smoke.ipynb")

    t0 = time.monotonic()
    nbp = open_notebook("smoke.ipynb")
    t_open = time.monotonic() - t0
    t_run = nbp.run_all(timeout=120)
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in nbp.prompts()), nbp.prompts()
    assert not nbp.error_outputs(), nbp.error_outputs()

    out = nbp.output("BokehModel(p)")
    out.locator(".sigma-count").wait_for(timeout=60_000)
    box = largest_canvas_box(out)
    nbp.shot("smoke_00_rendered", out)

    probe = KernelProbe.for_notebook(lab_server, "smoke.ipynb")
    try:
        assert probe.eval("len(src.selected.indices)") == 0
        select_bokeh_tool(out, "lasso-select")
        t1 = time.monotonic()
        drag(nbp.page, box, lasso_path(0.5, 0.5, 0.25, 0.25))
        # selection reaches Python without any button
        deadline = time.monotonic() + 60
        while probe.eval("len(src.selected.indices)") == 0:
            assert time.monotonic() < deadline, "lasso selection never reached the kernel"
            time.sleep(0.25)
        t_sel = time.monotonic() - t1
        n = probe.eval("len(src.selected.indices)")
        assert 100 < n < 5000
        nbp.page.locator(".sigma-count button, button.sigma-count").first.click()
        text = _wait_status(nbp, "BokehModel(p)", r"^\d+ selected$")
        assert text == f"{n} selected"
        assert probe.eval("clicks") == [n]
        nbp.shot("smoke_01_lasso_count", out)

        select_bokeh_tool(out, "box-select")
        drag(nbp.page, box, box_path(0.25, 0.1, 0.6, 0.5))
        deadline = time.monotonic() + 60
        while probe.eval("len(src.selected.indices)") == n:
            assert time.monotonic() < deadline, "box selection never reached the kernel"
            time.sleep(0.25)
        nbp.shot("smoke_02_box", out)
    finally:
        probe.close()
    print(f"open {t_open:.1f}s run-all {t_run:.1f}s lasso->kernel {t_sel:.1f}s")
    assert not [c for c in nbp.console if c.startswith("pageerror")], nbp.console
