"""What a run records about itself: input checksums, package versions, stage timings.

Examples
--------
>>> sorted(package_versions())[:3]
['dask', 'distributed', 'exspy']
>>> t = StageTimer()
>>> with t("load"):
...     pass
>>> list(t.timings)
['load']
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["PACKAGES", "StageTimer", "file_sha256", "input_record", "package_versions"]

#: Distributions whose versions go into ``run.json`` (SIGMA2's own under ``"sigma2"``).
PACKAGES = (
    "numpy", "scipy", "hyperspy", "exspy", "rosettasciio", "scikit-learn",
    "umap-learn", "torch", "dask", "distributed", "matplotlib",
)


def package_versions(packages=PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (``None`` when missing), plus Python's.

    Examples
    --------
    >>> package_versions(["numpy"])["numpy"] is not None
    True
    """
    import sigma

    out: dict[str, str | None] = {"sigma2": sigma.__version__}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return dict(sorted(out.items()))


def file_sha256(path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, or of every file below a folder (sorted by relative path).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); _ = open(p, "w").write("abc")
    >>> file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    return h.hexdigest()


def _companions(path: Path) -> list[Path]:
    """Side files read together with ``path`` (``.ser`` of an ``.emi``, ``.raw`` of an ``.rpl``)."""
    suf = path.suffix.lower()
    if suf == ".emi":
        return sorted(path.parent.glob(path.stem + "_*.ser"))
    if suf == ".rpl":
        return [p for p in (path.with_suffix(".raw"),) if p.exists()]
    return []


def input_record(path) -> dict:
    """Path, size and SHA-256 of an input (and of its companion files).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); _ = open(p, "w").write("abc")
    >>> rec = input_record(p)
    >>> rec["bytes"], rec["sha256"][:16]
    (3, 'ba7816bf8f01cfea')
    """
    path = Path(path)
    rec = {"path": str(path.resolve()), "sha256": file_sha256(path)}
    if path.is_file():
        rec["bytes"] = path.stat().st_size
    comp = _companions(path)
    if comp:
        rec["companions"] = [{"path": str(p.resolve()), "sha256": file_sha256(p)} for p in comp]
    return rec


def environment() -> dict:
    """Interpreter and platform of the run."""
    return {"python": sys.version.split()[0], "platform": platform.platform(), "argv": list(sys.argv)}


class StageTimer:
    """Wall-clock seconds per named stage (``with timer("load"): ...``), logged at INFO.

    Examples
    --------
    >>> timer = StageTimer(prefix="sample: ")
    >>> with timer("load"):
    ...     pass
    >>> with timer("load"):  # the same stage again: seconds add up
    ...     pass
    >>> list(timer.timings), timer.timings["load"] >= 0
    (['load'], True)
    """

    def __init__(self, prefix: str = ""):
        self.timings: dict[str, float] = {}
        self.prefix = prefix

    @contextlib.contextmanager
    def __call__(self, name: str):
        log.info("%s%s ...", self.prefix, name)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.timings[name] = round(self.timings.get(name, 0.0) + dt, 4)
            log.info("%s%s done in %.2f s", self.prefix, name, dt)
