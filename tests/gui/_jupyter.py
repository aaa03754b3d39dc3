"""Harness for the GUI tests: run notebooks with nbclient, drive JupyterLab with Playwright.

Nothing here is collected by pytest; the fixtures in ``conftest.py`` and the tests use it.

* :func:`prepare_notebook` copies a notebook and rewrites lines (the data path, the epochs).
* :func:`execute_notebook` runs it top to bottom in a fresh ``python3`` kernel of this venv.
* :class:`LabServer` starts JupyterLab on 127.0.0.1 (free port, token, private settings,
  runtime and workspace folders) and stops it with SIGTERM on its own PID.
* :func:`launch_chromium` starts Debian's ``/usr/bin/chromium`` headless through Playwright
  with the flags that work offline as root (``/work/shared/docs/gui-notes.md``).
* :class:`NotebookPage` opens a notebook in its own workspace, waits for ``| Idle``, runs all
  cells, finds cells by their source and saves screenshots.
* :class:`KernelProbe` connects a ``BlockingKernelClient`` to the notebook's running kernel
  (``/api/sessions`` -> kernel id -> connection file in ``JUPYTER_RUNTIME_DIR``) and evaluates
  Python there, so the tests assert on the kernel-side state after each click.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SEM_TUTORIAL = NOTEBOOKS / "Interactive_SEM_tutorial.ipynb"
TEM_TUTORIAL = NOTEBOOKS / "Interactive_TEM_tutorial.ipynb"

CHROMIUM = os.environ.get("SIGMA_CHROMIUM", "/usr/bin/chromium")
#: Flags measured to work for headless Debian chromium, offline, as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: The loading line of the tutorial; tests rewrite it to point at a real file.
FILE_PATH_LINE = re.compile(r"^file_path\s*=\s*demo_path\([^)]*\).*$", re.M)


# --------------------------------------------------------------------------- notebooks
def prepare_notebook(
    src: Path,
    dest: Path,
    *,
    data_path: str | os.PathLike | None = None,
    replace: dict[str, str] | None = None,
):
    """Copy notebook ``src`` to ``dest`` with its ``file_path`` line and other text rewritten.

    Parameters
    ----------
    src, dest : Path
        The notebook and where the edited copy goes.
    data_path : path-like, optional
        Replaces ``file_path = demo_path(...) ...`` by ``file_path = '<data_path>'``.
    replace : dict, optional
        Literal ``old -> new`` substitutions in code cells; each ``old`` must occur.

    Returns
    -------
    nbformat.NotebookNode
        The edited notebook (also written to ``dest``).
    """
    import nbformat

    nb = nbformat.read(src, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if data_path is not None:
        hits = [c for c in code if FILE_PATH_LINE.search(c.source)]
        if len(hits) != 1:
            raise AssertionError(
                f"expected one 'file_path = demo_path()' line in {src}, found {len(hits)}"
            )
        hits[0].source = FILE_PATH_LINE.sub(f"file_path = {str(data_path)!r}", hits[0].source)
    for old, new in (replace or {}).items():
        hits = [c for c in code if old in c.source]
        if not hits:
            raise AssertionError(f"{old!r} not found in any code cell of {src}")
        for c in hits:
            c.source = c.source.replace(old, new)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return nb


def execute_notebook(path: Path, *, cell_timeout: int = 300):
    """Run notebook ``path`` top to bottom in a fresh kernel, in its own folder.

    The kernel is the ``python3`` kernelspec, whose ``python`` argv jupyter_client maps to this
    interpreter. It runs on its own event loop, so several notebooks can run in threads at
    once. Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell; the
    executed notebook is written back to ``path`` either way.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook, with outputs.
    """
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    try:
        asyncio.run(client.async_execute(cwd=str(path.parent)))
    finally:
        nbformat.write(nb, path)
    return nb


def cell_errors(nb) -> list[str]:
    """Tracebacks of every errored code cell in an executed notebook."""
    errs = []
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                errs.append(f"cell {i}: {o['ename']}: {o['evalue']}")
    return errs


# --------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_lab_settings(settings_dir: Path) -> None:
    """User settings for a quiet, deterministic Lab: no news, no autosave, no windowing."""
    settings = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # Render every cell: with windowing, widgets below the fold are not in the DOM.
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
    }
    for rel, content in settings.items():
        p = settings_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(content))


@dataclass
class LabServer:
    """A JupyterLab server in ``root_dir`` with private config, runtime and settings folders."""

    root_dir: Path
    home: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime_dir(self) -> Path:
        return self.home / "runtime"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTERLAB_SETTINGS_DIR=str(self.home / "lab-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "lab-workspaces"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self, timeout: float = 90) -> LabServer:
        for d in ("runtime", "config", "lab-settings", "lab-workspaces"):
            (self.home / d).mkdir(parents=True, exist_ok=True)
        write_lab_settings(self.home / "lab-settings")
        self.log_path = self.home / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=",
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(
            cmd,
            env=self.env(),
            cwd=self.root_dir,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError):
                self.api("/api/status")
                return self
            time.sleep(0.3)
        raise TimeoutError(f"JupyterLab did not answer on {self.url} in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path else ""

    def api(self, path: str, method: str = "GET", body=None):
        req = urllib.request.Request(
            self.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def kernel_id(self, notebook: str, timeout: float = 60) -> str:
        """Id of the kernel of the session whose path ends with ``notebook``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in self.api("/api/sessions"):
                if s["path"].endswith(notebook) and s.get("kernel"):
                    return s["kernel"]["id"]
            time.sleep(0.5)
        raise TimeoutError(f"no kernel session for {notebook}: {self.api('/api/sessions')}")

    def kernel_pids(self) -> list[int]:
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil comes with jupyter_server
            return []
        if self.proc is None:
            return []
        with contextlib.suppress(psutil.Error):
            return [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]
        return []

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the server (it shuts its kernels down), then end any child it left."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = self.kernel_pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- kernel probe
class KernelProbe:
    """A second client on a notebook's kernel: ``probe.eval("expr")`` returns ``expr``'s value.

    Values travel as JSON, so ``expr`` must evaluate to something ``json.dumps`` accepts.
    """

    def __init__(self, connection_file: Path):
        from jupyter_client import BlockingKernelClient

        self.kc = BlockingKernelClient()
        self.kc.load_connection_file(str(connection_file))
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    @classmethod
    def for_notebook(cls, server: LabServer, notebook: str) -> KernelProbe:
        kid = server.kernel_id(notebook)
        cf = server.runtime_dir / f"kernel-{kid}.json"
        deadline = time.monotonic() + 30
        while not cf.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        return cls(cf)

    def run(self, code: str, timeout: float = 120) -> str:
        """Execute ``code``; return its stdout, raise ``RuntimeError`` on a Python error."""
        out: list[str] = []
        err: list[str] = []

        def hook(msg):
            t, c = msg["msg_type"], msg["content"]
            if t == "stream":
                out.append(c["text"])
            elif t == "error":
                err.append(f"{c['ename']}: {c['evalue']}")

        self.kc.execute_interactive(
            code, output_hook=hook, timeout=timeout, store_history=False, allow_stdin=False
        )
        if err:
            raise RuntimeError(f"kernel error running {code!r}: {err}")
        return "".join(out)

    def eval(self, expr: str, timeout: float = 120):
        marker = "__SIGMA_PROBE__"
        text = self.run(
            f"import json as _j; print({marker!r} + _j.dumps({expr}, default=str))", timeout
        )
        line = [ln for ln in text.splitlines() if ln.startswith(marker)][-1]
        return json.loads(line[len(marker) :])

    def close(self) -> None:
        self.kc.stop_channels()


# --------------------------------------------------------------------------- browser
def launch_chromium(profile_dir: Path, *, width: int = 1500, height: int = 1100):
    """Start headless chromium via Playwright; returns ``(playwright, context)``."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        ctx = pw.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
    except BaseException:
        pw.stop()
        raise
    return pw, ctx


_PROMPT_RUNNING = re.compile(r"\[\*\]")


class NotebookPage:
    """One notebook open in JupyterLab in its own workspace, with screenshot helpers."""

    def __init__(self, page, server: LabServer, notebook: str, shots: Path):
        self.page = page
        self.server = server
        self.notebook = notebook
        self.shots = shots
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    # -- opening and running
    def open(self, timeout: float = 120) -> NotebookPage:
        ws = re.sub(r"\W", "-", Path(self.notebook).stem)
        url = (
            f"{self.server.url}/lab/workspaces/{ws}/tree/{self.notebook}"
            f"?reset&token={self.server.token}"
        )
        self.page.goto(url, timeout=timeout * 1000)
        self.page.locator(".jp-Notebook").first.wait_for(timeout=timeout * 1000)
        self.wait_idle(timeout)
        return self

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until the status bar reads ``| Idle`` (the toolbar says idle too early)."""
        self.page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                  .some(e => /\\|\\s*Idle/.test(e.textContent))""",
            timeout=timeout * 1000,
        )

    def run_all(self, timeout: float = 300) -> float:
        """Run > Run All Cells through the command palette API; wait until none is pending.

        Returns the seconds from the click until every code cell has a number.
        """
        t0 = time.monotonic()
        self.page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Escape")
        self.menu("Run", "Run All Cells")
        # wait until something started, then until nothing runs
        with contextlib.suppress(Exception):
            self.page.wait_for_function(
                """() => [...document.querySelectorAll('.jp-InputPrompt')]
                      .some(e => /\\[\\*\\]/.test(e.textContent))""",
                timeout=15000,
            )
        self.page.wait_for_function(
            """() => {
                const ps = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return ps.length > 0 && ps.every(e => !/\\[\\*\\]/.test(e.textContent));
            }""",
            timeout=timeout * 1000,
            polling=500,
        )
        self.wait_idle(timeout)
        return time.monotonic() - t0

    def menu(self, top: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()

    def prompts(self) -> list[str]:
        return [
            t.strip() for t in self.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        ]

    def error_outputs(self) -> list[str]:
        """Texts of stderr/error outputs that look like tracebacks."""
        texts = self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_inner_texts()
        return [t for t in texts if "Traceback" in t or "Error" in t]

    # -- cells
    def cells(self, source_snippet: str):
        """Every code cell whose source contains ``source_snippet``, in notebook order."""
        loc = self.page.locator(".jp-CodeCell").filter(
            has=self.page.locator(".jp-InputArea-editor", has_text=source_snippet)
        )
        return loc.all()

    def cell(self, source_snippet: str, nth: int | None = None):
        """The code cell whose source contains ``source_snippet`` (the only one, or ``nth``)."""
        found = self.cells(source_snippet)
        if nth is None and len(found) != 1:
            raise AssertionError(f"{len(found)} code cells contain {source_snippet!r}")
        return found[nth or 0]

    def output(self, source_snippet: str, nth: int | None = None):
        out = self.cell(source_snippet, nth).locator(".jp-Cell-outputWrapper")
        out.scroll_into_view_if_needed()
        return out

    # -- screenshots
    def shot(self, name: str, locator=None) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        if locator is None:
            self.page.screenshot(path=str(path))
        else:
            locator.scroll_into_view_if_needed()
            locator.screenshot(path=str(path))
        return path


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- gestures
def largest_canvas_box(container) -> dict:
    """Bounding box of the biggest ``<canvas>`` inside ``container`` (Bokeh draws in several)."""
    boxes = [c.bounding_box() for c in container.locator("canvas").all()]
    boxes = [b for b in boxes if b and b["width"] > 50 and b["height"] > 50]
    if not boxes:
        raise AssertionError("no plot canvas rendered in this output")
    return max(boxes, key=lambda b: b["width"] * b["height"])


def drag(page, box: dict, path_rel, *, pause_ms: int = 10) -> None:
    """Mouse-down at the first point of ``path_rel`` (fractions of ``box``), move, mouse-up."""
    pts = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in path_rel]
    page.mouse.move(*pts[0])
    page.mouse.down()
    for x, y in pts[1:]:
        page.mouse.move(x, y, steps=2)
        page.wait_for_timeout(pause_ms)
    page.mouse.up()


def lasso_path(cx: float, cy: float, rx: float, ry: float, n: int = 48):
    """A closed ellipse around ``(cx, cy)`` in box fractions, for a lasso drag."""
    import math

    pts = [
        (cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n))
        for k in range(n + 1)
    ]
    return pts


def box_path(x0: float, y0: float, x1: float, y1: float, n: int = 12):
    """A straight drag from one corner to the opposite one, for a box select."""
    return [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(n + 1)]


def select_bokeh_tool(container, tool: str) -> None:
    """Make Bokeh tool ``tool`` ('lasso-select', 'box-select', ...) the active one.

    Clicking an active Bokeh tool switches it off, so click only when it is not active. The
    icon sits in the shadow root of its ``bk-OnOffButton``, whose class says ``bk-active``.
    """
    icon = container.locator(f".bk-tool-icon-{tool}").first
    active = icon.evaluate("e => e.getRootNode().host.classList.contains('bk-active')")
    if not active:
        icon.click()
        icon.page.wait_for_timeout(100)
