"""Run a compiled decoder in a helper process, so that a corrupt file is an error, not a crash.

RosettaSciIO decodes a Bruker ``.bcf`` pixel stream in compiled code that does not check its
bounds: a few flipped bytes make it write outside its array and the interpreter dies
(SIGSEGV/SIGBUS), taking a Jupyter kernel, ``sigma run`` or a dask worker with it. Here the
decode runs in one long-lived helper process (``python -m sigma.io._isolate``) started on
first use and reused for every later file; the cube comes back over a pipe straight into an
array allocated by the caller (one copy, no temporary files, no size limit of ``/dev/shm``).
When the helper dies, the caller gets a :class:`~sigma._errors.SigmaFileError` naming the file
and the signal, and the next decode starts a fresh helper.

Only the decoders registered in :data:`DECODERS` can be run; a request names one of them and
passes JSON arguments, so nothing is ever unpickled.

Examples
--------
>>> sorted(DECODERS)
['bcf']
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from .._errors import SigmaFileError, bad_file

log = logging.getLogger(__name__)

__all__ = ["DECODERS", "decode_isolated"]

#: ``name -> "module:function"``; the function takes JSON-able keyword arguments and returns
#: an ndarray. It runs in the helper process.
DECODERS = {"bcf": "sigma.io.bruker:_decode_in_helper"}

#: Seconds a decode may take: a base plus a rate per byte of the file (a corrupt stream can
#: also make a decoder loop for ever).
TIMEOUT_BASE_S = 120.0
TIMEOUT_S_PER_MB = 1.0

_LOCK = threading.Lock()
_WORKER: _Worker | None = None


class _Worker:
    """The helper process and its pipes."""

    def __init__(self):
        env = dict(os.environ)
        # the helper imports what this process imports (sys.path may have been edited, as the
        # tutorial's notebook does); one thread is plenty for a decoder
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        env.setdefault("OMP_NUM_THREADS", "1")
        self.pid_owner = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sigma.io._isolate"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        _widen_pipe(self.proc.stdout)
        self._stderr: list[bytes] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            self._stderr = [*self._stderr[-20:], line]

    def stderr_tail(self) -> str:
        self._drain.join(timeout=1)
        return b"".join(self._stderr).decode("utf-8", "replace").strip()

    def alive(self) -> bool:
        return self.proc.poll() is None and self.pid_owner == os.getpid()

    def close(self):
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _widen_pipe(fh) -> None:
    """Grow a pipe's kernel buffer (Linux; 64 KiB by default) to cut the context switches
    of sending a cube through it; a no-op elsewhere."""
    try:
        import fcntl

        size = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(fh.fileno(), fcntl.F_SETPIPE_SZ, min(size, 2**22))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def _worker() -> _Worker:
    global _WORKER
    if _WORKER is None or not _WORKER.alive():
        if _WORKER is not None and _WORKER.pid_owner == os.getpid():
            _WORKER.close()
        _WORKER = _Worker()
    return _WORKER


def prestart() -> None:
    """Start the helper now (it takes about a second to import), while the caller reads the
    file's metadata."""
    with _LOCK:
        _worker()


@atexit.register
def _shutdown():
    global _WORKER
    if _WORKER is not None and _WORKER.pid_owner == os.getpid():
        _WORKER.close()
    _WORKER = None


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exit status {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def decode_isolated(decoder: str, path, *, want_data: bool = True, timeout: float | None = None,
                    **kwargs):
    """Run ``DECODERS[decoder](path=path, **kwargs)`` in the helper process.

    Parameters
    ----------
    decoder : str
        A key of :data:`DECODERS`.
    path : path-like
        The file; named in every error.
    want_data : bool
        Return the array; otherwise only decode it (a check) and return ``(shape, dtype,
        total)`` without moving the data.
    timeout : float, optional
        Seconds before the helper is killed (default: :data:`TIMEOUT_BASE_S` plus
        :data:`TIMEOUT_S_PER_MB` per MB of the file).
    **kwargs
        JSON-able keyword arguments of the decoder.

    Returns
    -------
    ndarray or tuple

    Raises
    ------
    SigmaFileError
        The decoder raised (its message is kept), crashed, was killed or timed out.
    MemoryError
        The helper had not enough memory for the cube.

    Examples
    --------
    >>> decode_isolated("bcf", "missing.bcf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaFileError: File 'missing.bcf' could not be read (FileNotFoundError: ...
    """
    if decoder not in DECODERS:
        raise KeyError(decoder)
    path = Path(path)
    if timeout is None:
        try:
            mb = path.stat().st_size / 1e6
        except OSError:
            mb = 0.0
        timeout = TIMEOUT_BASE_S + TIMEOUT_S_PER_MB * mb
    request = {"decoder": decoder, "want_data": bool(want_data),
               "kwargs": {"path": os.path.abspath(path), **kwargs}}
    with _LOCK:
        w = _worker()
        fired = threading.Event()

        def stop():
            fired.set()
            w.proc.kill()

        timer = threading.Timer(timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            return _exchange(w, path, request)
        except (BrokenPipeError, EOFError, ConnectionError, ValueError, OSError) as exc:
            if isinstance(exc, SigmaFileError):
                raise
            code = w.proc.wait()
            timed_out = fired.is_set()
            tail = w.stderr_tail().splitlines()[-1:] if code != 0 else []
            if timed_out:
                problem = (f"did not decode within {timeout:.0f} s (the decoder was stopped); "
                           "its data are probably corrupt")
            else:
                hint = " (possibly out of memory)" if code == -signal.SIGKILL else ""
                problem = (f"crashed the decoder ({_signal_name(code)}{hint}) while its data were "
                           "decoded; it is probably corrupt" + (f" [{tail[0]}]" if tail else ""))
            raise bad_file(path, problem, "an intact file (copy it again from the instrument)") from None
        finally:
            timer.cancel()


def _exchange(w: _Worker, path: Path, request: dict):
    w.proc.stdin.write(json.dumps(request).encode() + b"\n")
    w.proc.stdin.flush()
    head = w.proc.stdout.readline()
    if not head:
        raise EOFError("the helper closed its output")
    reply = json.loads(head)
    if not reply.get("ok"):
        kind, msg = reply.get("type", "Error"), reply.get("message", "")
        if kind == "MemoryError":
            raise MemoryError(f"not enough memory to decode '{path}': {msg}")
        if kind == "SigmaFileError":
            raise SigmaFileError(msg)
        raise bad_file(path, f"could not be read ({kind}: {msg}); it may be truncated or corrupt")
    shape, dtype = tuple(reply["shape"]), np.dtype(reply["dtype"])
    if not request["want_data"]:
        return shape, dtype, reply.get("total")
    out = np.empty(shape, dtype)
    view = memoryview(out).cast("B") if out.nbytes else memoryview(b"")
    got = 0
    while got < out.nbytes:
        n = w.proc.stdout.readinto(view[got:])
        if not n:
            raise EOFError("the helper stopped sending data")
        got += n
    return out


# ----------------------------------------------------------------------------- the helper side
def _serve() -> None:  # pragma: no cover - runs in the helper process (tested through the API)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints of a decoder go to stderr, never into the data stream
    funcs = {}
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            name = req["decoder"]
            if name not in funcs:
                mod, fn = DECODERS[name].split(":")
                funcs[name] = getattr(importlib.import_module(mod), fn)
            data = np.ascontiguousarray(funcs[name](**req["kwargs"]))
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the caller
            msg = {"ok": False, "type": type(exc).__name__, "message": str(exc)}
            out.write(json.dumps(msg).encode() + b"\n")
            out.flush()
            continue
        head = {"ok": True, "shape": list(data.shape), "dtype": data.dtype.str}
        if not req.get("want_data", True):
            head["total"] = float(data.sum(dtype=np.float64))
        out.write(json.dumps(head).encode() + b"\n")
        if req.get("want_data", True) and data.nbytes:
            out.write(memoryview(data).cast("B"))
        out.flush()
        del data


if __name__ == "__main__":  # pragma: no cover
    _serve()
