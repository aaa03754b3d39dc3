"""Writing files safely: one atomic-write helper, a ledger of the files SIGMA2 wrote, and
locked staging folders that a later run can tell apart from a live one.

* :func:`atomic_write` (and its ``bytes``/``text``/``npy``/``tiff``/``csv`` forms) writes to a
  temporary name in the destination folder, ``fsync``\\ s and moves it into place with
  :func:`os.replace`, so nobody ever sees half a file. Files get the permissions the umask
  gives any other file (``mkstemp`` alone would leave them private).
* :class:`FileLedger` (``.sigma2-files.json`` in a folder) records the SHA-256 of each loose
  file SIGMA2 wrote there (cluster masks, ``shared_proportions.csv``), so SIGMA2 replaces or
  removes only its own, unchanged files and refuses to touch anything else.
* :class:`StagingDir` is a hidden working folder holding a lock file (an ``flock`` held for as
  long as the folder is in use, plus the host and process id); :func:`clean_stale_staging`
  removes the staging folders whose owner died (SIGKILL, power cut) and never a live one.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> p = atomic_write_text(d / "a.txt", "hi")
>>> p.read_text(), sorted(x.name for x in d.iterdir())
('hi', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ._errors import SigmaFileError, bad_file

log = logging.getLogger(__name__)

__all__ = [
    "FILE_MODE",
    "DIR_MODE",
    "LEDGER_NAME",
    "FileLedger",
    "StagingDir",
    "atomic_path",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_npy",
    "atomic_write_text",
    "atomic_write_tiff",
    "clean_stale_staging",
    "sha256_file",
]


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


#: Permissions of written files and folders: what ``open()``/``mkdir()`` would give them.
FILE_MODE = 0o666 & ~_umask()
DIR_MODE = 0o777 & ~_umask()


# ----------------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file beside ``path``; on a clean exit it replaces ``path``.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is left as
    it was. The parent folder is created if missing.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> with atomic_write(p, "w") as fh:
    ...     _ = fh.write("done")
    >>> open(p).read(), oct(os.stat(p).st_mode & 0o777) == oct(FILE_MODE)
    ('done', True)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path, *, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path`` for writers that need a file name (h5py,
    HyperSpy); on a clean exit the file is synced and moved to ``path``.

    ``suffix`` lets writers that pick the format from the extension see the right one.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> with atomic_path(p) as tmp:
    ...     _ = tmp.write_text("via a name")
    >>> open(p).read(), sorted(os.listdir(os.path.dirname(p)))
    ('via a name', ['x.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Examples
    --------
    >>> import tempfile, os
    >>> atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "x.bin"), b"ab").read_bytes()
    b'ab'
    """
    with atomic_write(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    """Write UTF-8 text atomically.

    Examples
    --------
    >>> import tempfile, os
    >>> atomic_write_text(os.path.join(tempfile.mkdtemp(), "n.txt"), "phase α").read_text("utf-8")
    'phase α'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_npy(path, array) -> Path:
    """Save a NumPy array (``.npy``, no pickles) atomically.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> np.load(atomic_write_npy(os.path.join(tempfile.mkdtemp(), "a.npy"), np.arange(3))).tolist()
    [0, 1, 2]
    """
    with atomic_write(path) as fh:
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

    buf = io.BytesIO()  # tifffile rejects the int ``name`` of an os.fdopen() file object
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


def sha256_file(path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks.

    Examples
    --------
    >>> import tempfile, os
    >>> sha256_file(atomic_write_bytes(os.path.join(tempfile.mkdtemp(), "e"), b""))[:12]
    'e3b0c44298fc'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- file ledger
#: Name of the ledger file that records what SIGMA2 wrote into a folder.
LEDGER_NAME = ".sigma2-files.json"
_LEDGER_FORMAT = "sigma2.files"


class FileLedger:
    """The files SIGMA2 wrote into one folder, with their SHA-256, kept in ``.sigma2-files.json``.

    SIGMA2 replaces or removes a file only when the ledger lists it and its content is still
    what SIGMA2 wrote; any other existing file at a target name is "in the way" and the write
    is refused (:meth:`check_writable`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> led = FileLedger(d)
    >>> led.write_bytes("a.txt", b"1")
    PosixPath('...a.txt')
    >>> led.write_bytes("a.txt", b"2").read_bytes()  # its own file: replaced
    b'2'
    >>> _ = (d / "b.txt").write_text("user's")
    >>> led.write_bytes("b.txt", b"x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaFileError: File '...b.txt' already exists and was not written by SIGMA2...
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LEDGER_NAME

    def entries(self) -> dict[str, set[str]]:
        """``{file name: SHA-256s it may have}`` of the files SIGMA2 wrote here ({} without a
        ledger). A name has two hashes only while :meth:`write_files` is replacing it."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except (OSError, ValueError, UnicodeDecodeError):
            log.warning("ignoring unreadable %s", self.path)
            return {}
        if not isinstance(doc, dict) or doc.get("format") != _LEDGER_FORMAT:
            return {}
        files = doc.get("files")
        if not isinstance(files, dict):
            return {}
        out = {}
        for k, v in files.items():
            hashes = [v] if isinstance(v, str) else v if isinstance(v, list) else []
            if Path(str(k)).name == str(k):  # names in this folder only
                out[str(k)] = {str(h) for h in hashes if isinstance(h, str)}
        return out

    def owns(self, name: str, entries: dict | None = None) -> bool:
        """Whether ``name`` exists and is unchanged since SIGMA2 wrote it."""
        entries = self.entries() if entries is None else entries
        p = self.folder / name
        if name not in entries or not p.is_file() or p.is_symlink():
            return False
        try:
            return sha256_file(p) in entries[name]
        except OSError:
            return False

    def check_writable(self, names: Iterable[str]) -> None:
        """Raise :class:`SigmaFileError` naming every target that exists and is not SIGMA2's."""
        entries = self.entries()
        blocked = [n for n in names if os.path.lexists(self.folder / n) and not self.owns(n, entries)]
        if blocked:
            raise _not_ours(self.folder / blocked[0], blocked)

    def _save(self, entries: dict[str, set[str]]) -> None:
        if not entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        doc = {"format": _LEDGER_FORMAT, "version": 2,
               "note": "files written by SIGMA2; it replaces only these, unchanged",
               "files": {k: sorted(v) for k, v in sorted(entries.items())}}
        atomic_write_text(self.path, json.dumps(doc, indent=1))

    def record(self, paths: Iterable) -> None:
        """Record ``paths`` (in this folder, just written) as SIGMA2's."""
        entries = self.entries()
        for p in paths:
            p = Path(p)
            entries[p.name] = {sha256_file(p)}
        self._save(entries)

    def write_files(self, files: dict, remove: Iterable[str] = ()) -> list[Path]:
        """Write several files as one step, and remove SIGMA2's own files listed in ``remove``.

        Every target is checked before anything is written (:meth:`check_writable`). Each
        file is written to a temporary name first; the ledger then lists both the old and new
        contents of every target before the files are moved into place, so an interruption at
        any point leaves every file recognisable as SIGMA2's. Files in ``remove`` that were
        changed since SIGMA2 wrote them are left in place with a warning.

        Parameters
        ----------
        files : dict
            ``{name: bytes}``, or ``{name: callable returning bytes}`` so that only one file's
            content is in memory at a time.
        remove : iterable of str
            Names to remove (those also in ``files`` are ignored).

        Returns
        -------
        list of Path
            The written files, in the order of ``files``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> led = FileLedger(tempfile.mkdtemp())
        >>> [p.name for p in led.write_files({"a.txt": b"1", "b.txt": lambda: b"2"})]
        ['a.txt', 'b.txt']
        >>> [p.name for p in led.write_files({"b.txt": b"3"}, remove=["a.txt"])]
        ['b.txt']
        >>> sorted(p.name for p in led.folder.iterdir()), sorted(led.entries())
        (['.sigma2-files.json', 'b.txt'], ['b.txt'])
        """
        names = list(files)
        self.check_writable(names)
        self.folder.mkdir(parents=True, exist_ok=True)
        temps: dict[str, Path] = {}
        try:
            new = {}
            for name in names:
                data = files[name]
                data = data() if callable(data) else data
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
                temps[name] = Path(tmp)
                os.fchmod(fd, FILE_MODE)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                new[name] = hashlib.sha256(data).hexdigest()
                del data
            entries = self.entries()
            self._save({**entries, **{n: entries.get(n, set()) | {h} for n, h in new.items()}})
            for name in names:
                os.replace(temps.pop(name), self.folder / name)
        finally:
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
        entries = self.entries()
        entries.update({n: {h} for n, h in new.items()})
        self._save(entries)
        self.remove([n for n in remove if n not in new])
        return [self.folder / n for n in names]

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write ``name`` atomically if it is absent or SIGMA2's own, and record it."""
        self.check_writable([name])
        p = atomic_write_bytes(self.folder / name, data)
        self.record([p])
        return p

    def remove(self, names: Iterable[str]) -> list[str]:
        """Remove the listed files that SIGMA2 wrote and nobody changed; returns those removed.

        Files edited since are left in place (with a warning) and dropped from the ledger.
        """
        entries = self.entries()
        removed = []
        for n in names:
            if self.owns(n, entries):
                (self.folder / n).unlink()
                removed.append(n)
            elif os.path.lexists(self.folder / n):
                log.warning("left %s in place: it changed since SIGMA2 wrote it", self.folder / n)
            entries.pop(n, None)
        self._save(entries)
        return removed


def _not_ours(path: Path, blocked: Sequence[str]) -> SigmaFileError:
    more = f" (also in the way: {', '.join(blocked[1:])})" if len(blocked) > 1 else ""
    return bad_file(
        path,
        f"already exists and was not written by SIGMA2 (or changed since){more}; SIGMA2 "
        "never replaces files it did not write",
        "a new output folder, or move these files away first",
    )


# ----------------------------------------------------------------------------- staging folders
#: Name of the lock file inside every staging folder.
LOCK_NAME = ".sigma2-lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


class StagingDir:
    """A hidden working folder ``parent/.<name>-XXXXXXXX`` with a held lock file.

    The lock is an ``flock`` on ``.sigma2-lock`` (which also records host and process id), held
    until :meth:`release`/:meth:`remove`; the OS drops it when the process dies, so
    :func:`clean_stale_staging` can tell a dead run's folder from a live one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> st = StagingDir(out, ".s.partial")
    >>> st.path.name.startswith(".s.partial-"), clean_stale_staging(out)
    (True, [])
    >>> st.remove(); sorted(out.iterdir())
    []
    """

    def __init__(self, parent, prefix: str):
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))
        os.chmod(self.path, DIR_MODE)
        self._fh = open(self.path / LOCK_NAME, "w", encoding="utf-8")  # noqa: SIM115 - held open
        _lock(self._fh, blocking=True)
        self._fh.write(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
        self._fh.flush()

    def release(self) -> None:
        """Drop the lock and its file (the folder stays, e.g. after it was renamed)."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                os.unlink(Path(self._fh.name))
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        """Remove the folder and everything in it, then drop the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def __del__(self):  # a forgotten handle must not keep the lock forever
        with contextlib.suppress(Exception):
            if self._fh is not None:
                self._fh.close()


def _lock(fh, *, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: fall back to the pid check
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _is_stale(folder: Path) -> bool:
    lock = folder / LOCK_NAME
    try:
        info = json.loads(lock.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError, UnicodeDecodeError):
        return False  # no lock file (yet, or an old version's folder): not ours to judge
    if not isinstance(info, dict) or info.get("host") != socket.gethostname():
        return False  # another machine's run (shared file system): leave it
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - no flock: judge by the process id
        pid = info.get("pid")
        return isinstance(pid, int) and pid != os.getpid() and not _pid_alive(pid)
    try:
        with open(lock, encoding="utf-8") as fh:
            return _lock(fh, blocking=False)  # nobody holds it: its run is gone
    except OSError:
        return False


#: Name patterns of SIGMA2's staging folders.
STAGING_PATTERNS = (".*.partial-*", ".*.old-*", ".shared-autoencoder-*")


def clean_stale_staging(parent) -> list[Path]:
    """Remove the staging folders in ``parent`` left by runs that died; returns them.

    A folder is stale when its lock file names this host and nobody holds its lock (its
    process is gone). Folders of live runs, of other hosts, and folders without a lock file
    are left alone.
    """
    parent = Path(parent)
    removed = []
    if not parent.is_dir():
        return removed
    seen = set()
    for pattern in STAGING_PATTERNS:
        for d in parent.glob(pattern):
            if d in seen or not d.is_dir() or d.is_symlink():
                continue
            seen.add(d)
            if _is_stale(d):
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
                log.warning("removed %s, left by a run that did not finish", d)
    return removed
