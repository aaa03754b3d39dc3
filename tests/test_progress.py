"""Which dask scheduler SIGMA2's computations run on."""

import sys
import types

import dask
import dask.array as da
import dask.local
import dask.threaded

from sigma._progress import compute, local_scheduler


def test_no_distributed_import_when_no_client_can_exist(monkeypatch):
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    assert local_scheduler() is dask.threaded.get
    (total,) = compute(da.ones(10, chunks=5).sum(), progress=False)
    assert total == 10


def test_a_loaded_distributed_or_a_configured_scheduler_is_left_to_dask(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", types.ModuleType("distributed"))
    assert local_scheduler() is None
    monkeypatch.delitem(sys.modules, "distributed")
    with dask.config.set(scheduler="sync"):
        assert local_scheduler() is None


def test_local_scheduler_names_become_their_functions():
    assert local_scheduler("threads") is dask.threaded.get
    assert local_scheduler("sync") is dask.local.get_sync
    assert local_scheduler("processes") == "processes"
