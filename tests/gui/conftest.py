"""Fixtures for the GUI tests: a JupyterLab server, headless chromium and a kernel probe.

Every process started here is stopped in a finalizer, also when a test fails: the server by
SIGTERM on its own PID (it shuts its kernels down; children it leaves are then killed by PID),
the browser by closing its Playwright context.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from _jupyter import CHROMIUM, LabServer, NotebookPage, launch_chromium, remove_tree


@pytest.fixture(scope="session")
def screenshots_dir(artifacts_dir) -> Path:
    d = artifacts_dir / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def browser_available() -> str:
    """Fail (not skip) when chromium is missing; skip only on ``SIGMA_SKIP_BROWSER=1``."""
    if os.environ.get("SIGMA_SKIP_BROWSER") == "1":
        pytest.skip("SIGMA_SKIP_BROWSER=1: browser tests opted out by the developer")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"chromium not found at {CHROMIUM}; install it with "
            "`apt-get install -y chromium` (CI does, in .ci/run), point SIGMA_CHROMIUM at "
            "another binary, or set SIGMA_SKIP_BROWSER=1 to opt out locally"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        pytest.fail(f"the playwright Python package is missing ({e}); pip install '.[test]'")
    return CHROMIUM


@pytest.fixture(scope="session")
def lab_server(browser_available):
    """A JupyterLab server whose root is a fresh temporary folder (``server.root_dir``)."""
    home = Path(tempfile.mkdtemp(prefix="sigma-lab-"))
    root = home / "root"
    root.mkdir()
    server = LabServer(root_dir=root, home=home / "jupyter")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        remove_tree(home)


@pytest.fixture(scope="module")
def browser_context(browser_available):
    # Module scope: Playwright's sync API keeps an asyncio loop marked as running in the main
    # thread while it is started; left running for the session, every later test would see a
    # "kernel" loop (views then update in a later loop turn that never comes).
    profile = Path(tempfile.mkdtemp(prefix="sigma-chromium-"))
    pw, ctx = launch_chromium(profile, width=1600, height=1000)
    try:
        yield ctx
    finally:
        try:
            ctx.close()
        finally:
            pw.stop()
            remove_tree(profile)


@pytest.fixture
def open_notebook(lab_server, browser_context, screenshots_dir):
    """``open_notebook(name)`` opens ``lab_server.root_dir / name`` in a fresh tab."""
    pages = []

    def _open(name: str, timeout: float = 120) -> NotebookPage:
        page = browser_context.new_page()
        page.set_default_timeout(120_000)
        nbp = NotebookPage(page, lab_server, name, screenshots_dir)
        pages.append(nbp)
        return nbp.open(timeout)

    yield _open
    for nbp in pages:
        try:  # the last view of the page, for failures most of all
            nbp.shot(f"{Path(nbp.notebook).stem}_last_view")
        except Exception:
            pass
        try:
            # shut the kernel down so the next notebook starts with the CPU to itself
            kid = lab_server.kernel_id(nbp.notebook, timeout=1)
            lab_server.api(f"/api/kernels/{kid}", method="DELETE")
        except Exception:
            pass
        nbp.page.close()
