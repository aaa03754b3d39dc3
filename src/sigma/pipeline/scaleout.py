"""Running the chunked stages on a dask.distributed cluster.

Loading (lazy, row chunks), binning, spectrum normalisation and the line-intensity feature
maps are dask graphs in the lazy path of :class:`sigma.datasets.SEMDataset`;
:func:`sigma._progress.compute` calls :func:`dask.compute`, which sends them to the active
:class:`distributed.Client`. Latent projection, clustering and NMF then run in this process on
the (small) feature matrix.

The graphs are pickled to the workers, so the lazy readers build them from tasks that hold
only a path and what to read, and open the file where they run:

* ``.h5oina``, ``.hspy``/``.hdf5``: every row block reads its own rows from the HDF5 file
  (:class:`sigma.io._lazy.HDF5Rows`), so the reading itself is spread over the workers;
* ``.zspy``: RosettaSciIO's Zarr-backed array, read block by block as well;
* ``.bcf``: a Bruker hypermap is one compressed stream that cannot be decoded by parts. One
  task decodes the whole cube in **one worker** (which needs the memory for the whole cube),
  then its row blocks move to the other workers for binning, normalisation and feature maps;
* ``.rpl``/``.raw``: RosettaSciIO's per-block memory maps of the file;
* ``.emi``/``.ser``: RosettaSciIO's lazy array, one task that reads the whole cube (like
  ``.bcf``, in one worker).

Two ways to get a cluster:

* ``sigma run ... --workers 4`` starts a :class:`distributed.LocalCluster` of 4 worker
  processes on ``127.0.0.1`` (no dashboard) for the duration of the run;
* ``sigma run ... --scheduler tcp://HOST:8786`` connects to a cluster that is already running,
  for example one started by hand::

      dask scheduler --host 0.0.0.0 --port 8786          # on the head node
      dask worker tcp://HEAD:8786 --nworkers 4 --nthreads 2  # on every compute node

  or by ``dask-jobqueue`` / ``dask-kubernetes`` / ``dask-gateway`` (pass its
  ``scheduler_address``). The workers must have SIGMA2 installed in the same version and must
  be able to read the input files under the same paths (a shared file system).

Examples
--------
>>> with dask_client() as client:
...     client is None
True
"""

from __future__ import annotations

import contextlib
import logging

from .._errors import bad_value

log = logging.getLogger(__name__)

__all__ = ["dask_client"]


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, *, threads_per_worker: int = 1):
    """Context manager yielding a :class:`distributed.Client`, or ``None`` for in-process work.

    Parameters
    ----------
    workers : int, optional
        Start a ``LocalCluster(n_workers=workers, host='127.0.0.1', dashboard_address=None)``.
    scheduler : str, optional
        Address of an existing scheduler, e.g. ``'tcp://10.0.0.5:8786'``.
    threads_per_worker : int
        Threads of each local worker.

    Raises
    ------
    SigmaValueError
        Both or bad values given, or ``distributed`` missing.

    Examples
    --------
    Without ``workers`` or ``scheduler`` the work stays in this process:

    >>> with dask_client() as client:
    ...     print(client)
    None

    Two local worker processes (takes a few seconds to start):

    >>> with dask_client(workers=2) as client:  # doctest: +SKIP
    ...     print(len(client.scheduler_info()["workers"]))
    2
    """
    if workers is not None and scheduler is not None:
        raise bad_value("workers", workers, "not given together with 'scheduler'")
    if workers is None and scheduler is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise bad_value(
            "workers" if workers is not None else "scheduler", workers or scheduler,
            "used with the 'distributed' package installed (pip install 'sigma2-eds[distributed]')",
        ) from exc
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise bad_value("workers", workers, "an int >= 1")
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=threads_per_worker, host="127.0.0.1",
            dashboard_address=None, processes=True,
        )
        client = Client(cluster)
        log.info("started a LocalCluster of %d workers at %s", workers, cluster.scheduler_address)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise bad_value("scheduler", scheduler, "an address such as 'tcp://HOST:8786'")
    client = Client(scheduler, timeout="30s")
    log.info("connected to the dask scheduler at %s (%d workers)", scheduler,
             len(client.scheduler_info().get("workers", {})))
    try:
        yield client
    finally:
        client.close()
