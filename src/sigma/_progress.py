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
