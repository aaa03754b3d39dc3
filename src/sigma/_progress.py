"""Progress bars (tqdm) for long work, including dask computations."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def progress_enabled(default: bool = True) -> bool:
    """Progress bars show unless the ``SIGMA_PROGRESS`` environment variable is ``0``."""
    import os

    return os.environ.get("SIGMA_PROGRESS", "1" if default else "0") not in ("0", "false", "no")


def compute(*arrays, desc: str = "computing", progress: bool | None = None, scheduler=None):
    """Compute dask arrays with a tqdm bar over tasks; NumPy arrays pass through.

    Examples
    --------
    >>> import dask.array as da
    >>> compute(da.ones(4, chunks=2).sum(), progress=False)[0]
    np.float64(4.0)
    """
    import dask
    from dask.callbacks import Callback

    if not any(hasattr(a, "dask") for a in arrays):
        return arrays
    scheduler = local_scheduler(scheduler)
    show = progress_enabled() if progress is None else progress
    if not show:
        return dask.compute(*arrays, scheduler=scheduler)
    from tqdm.auto import tqdm

    class _Bar(Callback):
        def _start_state(self, dsk, state):
            self.bar = tqdm(total=sum(len(state[k]) for k in ("ready", "waiting", "running")), desc=desc, leave=False)

        def _posttask(self, key, result, dsk, state, worker_id):
            self.bar.update(1)

        def _finish(self, dsk, state, errored):
            self.bar.close()

    with _Bar():
        return dask.compute(*arrays, scheduler=scheduler)


def local_scheduler(scheduler=None):
    """The scheduler to hand dask: a local one as a function, so dask does not import
    ``distributed`` to look for a client that cannot exist.

    A ``distributed.Client`` can only exist once ``distributed`` is imported, and dask's
    scheduler lookup (even for a scheduler given by name) imports it to check: 0.2-0.5 s in a
    fresh process. So ``None`` becomes dask's threaded scheduler when ``distributed`` is not
    imported and dask's config names no scheduler, and the names of the local schedulers
    become their functions; anything else is left to dask.

    Examples
    --------
    >>> import dask.threaded
    >>> local_scheduler("threads") is dask.threaded.get
    True
    """
    import sys

    import dask
    import dask.local
    import dask.threaded

    if scheduler is None:
        if "distributed" in sys.modules or dask.config.get("scheduler", None) is not None:
            return None
        return dask.threaded.get
    if isinstance(scheduler, str):
        name = scheduler.lower()
        if name in ("threads", "threading"):
            return dask.threaded.get
        if name in ("sync", "synchronous", "single-threaded"):
            return dask.local.get_sync
    return scheduler
