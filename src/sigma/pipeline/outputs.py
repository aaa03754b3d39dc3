"""Writing outputs safely: atomic files, staging folders, overwrite protection.

Every file is written to a temporary name in its destination folder and moved into place with
:func:`os.replace`, so a reader never sees half a file. A whole run is written into a hidden
staging folder ``OUT/.<stem>.partial-XXXX/`` that becomes ``OUT/<stem>/`` only when every output
is complete (:class:`StagedOutput`); an exception or Ctrl-C removes the staging folder.

Examples
--------
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> with StagedOutput(out, "sample") as stage:
...     _ = atomic_write_text(stage.path / "hello.txt", "hi")
>>> sorted(p.name for p in out.iterdir()), (out / "sample" / "hello.txt").read_text()
(['sample'], 'hi')
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._errors import SigmaFileError, bad_file

log = logging.getLogger(__name__)

__all__ = [
    "OutputExistsError",
    "StagedOutput",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_npy",
    "atomic_write_text",
    "atomic_write_tiff",
    "check_free",
]


class OutputExistsError(SigmaFileError, FileExistsError):
    """The output folder exists and ``--overwrite`` was not given.

    Examples
    --------
    >>> import tempfile
    >>> try:
    ...     check_free(tempfile.mkdtemp(), overwrite=False)
    ... except OutputExistsError as exc:
    ...     print(type(exc).__name__, isinstance(exc, FileExistsError))
    OutputExistsError True
    """


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


#: Permissions of written files and folders (mkstemp/mkdtemp would leave them private).
_FILE_MODE = 0o666 & ~_umask()
_DIR_MODE = 0o777 & ~_umask()


@contextlib.contextmanager
def _atomic(path: Path, mode: str = "wb"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and :func:`os.replace`.

    Examples
    --------
    >>> import tempfile, os
    >>> p = atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "x.bin"), b"ab")
    >>> p.read_bytes()
    b'ab'
    """
    with _atomic(Path(path)) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 text atomically (see :func:`atomic_write_bytes`).

    Examples
    --------
    >>> import tempfile, os
    >>> p = atomic_write_text(os.path.join(tempfile.mkdtemp(), "note.txt"), "phase α")
    >>> p.read_text(encoding="utf-8")
    'phase α'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_npy(path, array) -> Path:
    """Save a NumPy array (``.npy``) atomically.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> p = atomic_write_npy(os.path.join(tempfile.mkdtemp(), "a.npy"), np.arange(3))
    >>> np.load(p).tolist()
    [0, 1, 2]
    """
    with _atomic(Path(path)) as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)
    return Path(path)


def atomic_write_tiff(path, array) -> Path:
    """Save an image or stack as TIFF (tifffile) atomically.

    Examples
    --------
    >>> import tempfile, os, numpy as np, tifffile
    >>> p = atomic_write_tiff(os.path.join(tempfile.mkdtemp(), "m.tiff"), np.eye(2, dtype="uint8"))
    >>> tifffile.imread(p).tolist()
    [[1, 0], [0, 1]]
    """
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.asarray(array))
    return atomic_write_bytes(path, buf.getvalue())


def atomic_write_csv(path, header: Sequence[str], rows) -> Path:
    """Write a CSV file (one header row, then ``rows``) atomically.

    Examples
    --------
    >>> import tempfile, os
    >>> p = atomic_write_csv(os.path.join(tempfile.mkdtemp(), "t.csv"), ["a", "b"], [[1, 2.5]])
    >>> p.read_text().splitlines()
    ['a,b', '1,2.5']
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(header))
    for r in rows:
        w.writerow([_fmt(x) for x in r])
    return atomic_write_text(path, buf.getvalue())


def _fmt(x):
    if isinstance(x, float | np.floating):
        return repr(float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x


def check_free(path, overwrite: bool) -> None:
    """Refuse to reuse an existing output unless ``overwrite``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false; the message names it.

    Examples
    --------
    >>> import tempfile, os
    >>> out = tempfile.mkdtemp()
    >>> check_free(os.path.join(out, "new"), overwrite=False)  # does not exist: fine
    >>> check_free(out, overwrite=True)  # exists, but may be replaced
    >>> check_free(out, overwrite=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma.pipeline.outputs.OutputExistsError: ...
    """
    path = Path(path)
    if path.exists() and not overwrite:
        err = bad_file(path, "already exists", "a new output folder, or pass --overwrite to replace it")
        raise OutputExistsError(str(err))


class StagedOutput:
    """A folder built under a hidden temporary name and moved into place when complete.

    Parameters
    ----------
    out_dir : path-like
        The run's output folder ``OUT``.
    name : str
        Final folder name ``OUT/<name>``.
    overwrite : bool
        Replace an existing ``OUT/<name>``; otherwise :class:`OutputExistsError` is raised on
        entry, before any work.

    Attributes
    ----------
    path : Path
        The staging folder ``OUT/.<name>.partial-XXXX`` to write into.
    final : Path
        ``OUT/<name>``.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with StagedOutput(out, "sample") as stage:
    ...     _ = atomic_write_text(stage.path / "a.txt", "done")
    >>> sorted(p.name for p in stage.final.iterdir()), stage.final.name
    (['a.txt'], 'sample')
    """

    def __init__(self, out_dir, name: str, *, overwrite: bool = False):
        self.out_dir = Path(out_dir)
        self.final = self.out_dir / name
        self.name = name
        self.overwrite = overwrite
        self.path: Path | None = None

    def __enter__(self) -> StagedOutput:
        check_free(self.final, self.overwrite)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.name}.partial-", dir=self.out_dir))
        os.chmod(self.path, _DIR_MODE)
        return self

    def commit(self) -> Path:
        """Move the staging folder to :attr:`final` (replacing an old one when allowed)."""
        old = None
        if self.final.exists():
            check_free(self.final, self.overwrite)
            old = Path(tempfile.mkdtemp(prefix=f".{self.name}.old-", dir=self.out_dir))
            os.replace(self.final, old / "x")
        try:
            os.replace(self.path, self.final)
        except BaseException:
            if old is not None:
                os.replace(old / "x", self.final)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.path = None
        return self.final

    def abort(self) -> None:
        """Remove the staging folder and everything in it."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            log.info("removed partial output %s", self.path)
            self.path = None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False
