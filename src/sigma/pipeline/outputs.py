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

import json
import logging
import os
from pathlib import Path

from .._errors import SigmaFileError, bad_file
from .._files import (
    FileLedger,
    StagingDir,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_npy,
    atomic_write_text,
    atomic_write_tiff,
    clean_stale_staging,
)

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
    "check_free_file",
    "owner_record",
    "replace_problem",
]


class OutputExistsError(SigmaFileError, FileExistsError):
    """The output exists, and ``--overwrite`` was not given or it is not SIGMA2's to replace.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "notes.txt"), "w").write("mine")
    >>> try:
    ...     check_free(d, overwrite=True)
    ... except OutputExistsError as exc:
    ...     print(type(exc).__name__, isinstance(exc, FileExistsError))
    OutputExistsError True
    """


#: Key of the ownership record in ``run.json``: the files SIGMA2 wrote into the folder.
OWNER_KEY = "sigma2_output"
_OWNER_VALUE = "output folder written by SIGMA2; --overwrite may replace it while it holds only these files"
#: Names the operating system's file browsers drop into folders (never user data).
_OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "._.DS_Store"})


def _listing(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative POSIX paths), folders included as ``name/``."""
    out = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        out += [(rel / d).as_posix() + "/" for d in dirs]
        out += [(rel / f).as_posix() for f in files]
    return sorted(out)


def owner_record(folder) -> dict:
    """The ownership record :class:`StagedOutput` stores in ``run.json``: what is in the folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = atomic_write_text(d / "labels.npy", "x")
    >>> owner_record(d)["files"]
    ['labels.npy', 'run.json']
    """
    files = sorted({*_listing(Path(folder)), "run.json"})
    return {"written_by": "SIGMA2", "note": _OWNER_VALUE, "files": files}


def replace_problem(folder, protect=()) -> str | None:
    """Why ``folder`` may not be replaced by ``--overwrite``, or ``None`` when it may.

    It may be replaced only when it is a folder SIGMA2 wrote: its ``run.json`` holds SIGMA2's
    ownership record, every file in it is listed there, and it holds none of ``protect``
    (the inputs of the run).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = atomic_write_text(d / "notes.txt", "mine")
    >>> replace_problem(d)
    'it has no run.json written by SIGMA2 (it holds notes.txt), so it is not a SIGMA2 output folder'
    """
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return "it is not a folder SIGMA2 wrote (a file or a link)"
    try:
        resolved = folder.resolve()
        inside = [str(p) for p in protect
                  if Path(p).resolve() == resolved or resolved in Path(p).resolve().parents]
    except OSError:
        inside = []
    if inside:
        return f"it holds this run's input {inside[0]}"
    present = _listing(folder)
    shown = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
    try:
        doc = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        doc = None
    owner = doc.get(OWNER_KEY) if isinstance(doc, dict) else None
    if not (isinstance(owner, dict) and owner.get("written_by") == "SIGMA2"
            and isinstance(owner.get("files"), list)):
        what = f" (it holds {shown})" if present else ""
        return f"it has no run.json written by SIGMA2{what}, so it is not a SIGMA2 output folder"
    listed = {str(f) for f in owner["files"]}
    unknown = [f for f in present if f not in listed and Path(f).name not in _OS_LITTER]
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        return f"it holds files SIGMA2 did not write there: {', '.join(unknown[:5])}{more}"
    return None


def check_free(path, overwrite: bool, *, protect=()) -> None:
    """Refuse to reuse an existing output, and to replace anything SIGMA2 did not write.

    Parameters
    ----------
    path : path-like
        ``OUT/<stem>``.
    overwrite : bool
        Whether an earlier SIGMA2 output there may be replaced.
    protect : sequence of path-like
        Files that must never be inside a replaced folder (the run's inputs).

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false, or it is not a SIGMA2 output folder
        (:func:`replace_problem`); the message names it and says what is in the way.

    Examples
    --------
    >>> import tempfile, os
    >>> out = tempfile.mkdtemp()
    >>> check_free(os.path.join(out, "new"), overwrite=False)  # does not exist: fine
    >>> check_free(out, overwrite=False)  # an empty folder holds nothing to lose
    >>> _ = open(os.path.join(out, "scan.bcf"), "wb").write(b"data")
    >>> check_free(out, overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma.pipeline.outputs.OutputExistsError: File '...' already exists and SIGMA2 will not replace it: it has no run.json written by SIGMA2 (it holds scan.bcf), ...
    """
    path = Path(path)
    if not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        return  # an empty folder holds nothing to lose
    problem = replace_problem(path, protect)
    if problem is not None:
        err = bad_file(path, f"already exists and SIGMA2 will not replace it: {problem}",
                       "another --out folder, or move it away first")
    elif not overwrite:
        err = bad_file(path, "already exists (an earlier SIGMA2 output)",
                       "another --out folder, or --overwrite to replace it")
    else:
        return
    raise OutputExistsError(str(err))


def check_free_file(path, overwrite: bool) -> None:
    """Like :func:`check_free` for a loose file SIGMA2 writes into ``OUT`` (e.g.
    ``shared_proportions.csv``): it may be replaced only when the folder's
    :class:`~sigma._files.FileLedger` shows SIGMA2 wrote it and nobody changed it since.

    Examples
    --------
    >>> import tempfile, os
    >>> out = tempfile.mkdtemp()
    >>> _ = FileLedger(out).write_bytes("shared_proportions.csv", b"cluster\\n")
    >>> check_free_file(os.path.join(out, "shared_proportions.csv"), overwrite=True)
    >>> _ = open(os.path.join(out, "shared_proportions.csv"), "a").write("edited")
    >>> check_free_file(os.path.join(out, "shared_proportions.csv"), overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma.pipeline.outputs.OutputExistsError: File '...' already exists and was not written by SIGMA2 (or changed since)...
    """
    path = Path(path)
    if not os.path.lexists(path):
        return
    if not FileLedger(path.parent).owns(path.name):
        try:
            FileLedger(path.parent).check_writable([path.name])
        except SigmaFileError as exc:
            raise OutputExistsError(str(exc)) from None
    if not overwrite:
        raise OutputExistsError(str(bad_file(path, "already exists (an earlier SIGMA2 output)",
                                             "another --out folder, or --overwrite to replace it")))


class StagedOutput:
    """A folder built under a hidden temporary name and moved into place when complete.

    On entry the staging folders of earlier runs that died are removed
    (:func:`~sigma._files.clean_stale_staging`); at commit the folder's listing is stored in
    its ``run.json`` (:func:`owner_record`), which is what lets a later ``--overwrite`` replace
    it, and nothing else.

    Parameters
    ----------
    out_dir : path-like
        The run's output folder ``OUT``.
    name : str
        Final folder name ``OUT/<name>``.
    overwrite : bool
        Replace an existing ``OUT/<name>`` that SIGMA2 wrote; otherwise
        :class:`OutputExistsError` is raised on entry, before any work.
    protect : sequence of path-like
        The run's inputs: a folder holding one is never replaced.

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
    (['a.txt', 'run.json'], 'sample')
    """

    def __init__(self, out_dir, name: str, *, overwrite: bool = False, protect=()):
        self.out_dir = Path(out_dir)
        self.final = self.out_dir / name
        self.name = name
        self.overwrite = overwrite
        self.protect = tuple(protect)
        self.path: Path | None = None
        self._staging: StagingDir | None = None

    def __enter__(self) -> StagedOutput:
        check_free(self.final, self.overwrite, protect=self.protect)
        clean_stale_staging(self.out_dir)
        self._staging = StagingDir(self.out_dir, f".{self.name}.partial")
        self.path = self._staging.path
        return self

    def _mark(self) -> None:
        """Store the ownership record in ``run.json`` (created when the run wrote none)."""
        run = self.path / "run.json"
        try:
            doc = json.loads(run.read_text(encoding="utf-8"))
        except FileNotFoundError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {"run": doc}
        lock = self._staging.path / ".sigma2-lock" if self._staging else None
        rec = owner_record(self.path)
        if lock is not None:
            rec["files"] = [f for f in rec["files"] if f != lock.name]
        doc[OWNER_KEY] = rec
        atomic_write_text(run, json.dumps(doc, indent=2))

    def commit(self) -> Path:
        """Move the staging folder to :attr:`final` (replacing an old SIGMA2 output when allowed)."""
        self._mark()
        old = None
        if os.path.lexists(self.final):
            check_free(self.final, self.overwrite, protect=self.protect)
            old = StagingDir(self.out_dir, f".{self.name}.old")
            os.replace(self.final, old.path / "x")
        try:
            self._staging.release()
            os.replace(self.path, self.final)
        except BaseException:
            if old is not None:
                os.replace(old.path / "x", self.final)
            raise
        finally:
            if old is not None:
                old.remove()
        self.path = self._staging = None
        return self.final

    def abort(self) -> None:
        """Remove the staging folder and everything in it."""
        if self._staging is not None:
            self._staging.remove()
            log.info("removed partial output %s", self.path)
            self.path = self._staging = None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()  # e.g. a concurrent run committed first: leave no staging behind
                raise
        else:
            self.abort()
        return False
