"""The pipeline runner: the tutorial's notebook as stages, for one file or a batch.

Stages per input (timed, logged, shown as a progress bar): ``load`` → ``preprocess`` (rebin,
spectrum normalisation, remove the first peak) → ``features`` (line maps, optional BSE image,
normalisation chain) → ``latent`` (UMAP or autoencoder) → ``clustering``
(:class:`~sigma.clustering.PixelSegmenter`) → ``nmf`` (unmixing, abundance maps) → ``outputs``
→ ``report``. Everything is written into ``OUT/.<stem>.partial-XXXX/`` and renamed to
``OUT/<stem>/`` at the end (:class:`~sigma.pipeline.outputs.StagedOutput`), so an error or Ctrl-C
leaves no half-written output.

With ``shared_phases=True`` all inputs are prepared first; one latent projection and one
clusterer are fitted on a balanced sample (the same number of pixels from every input), then
every pixel of every input is projected (UMAP ``transform`` / autoencoder ``encode``) and
assigned (``predict``, or the nearest sampled neighbour for HDBSCAN), so cluster *k* is the same
phase in every map. The ``zscore`` step then uses statistics pooled over all inputs, so a
feature value means the same in every file.

A file that fails is reported and skipped; the batch goes on (see :class:`RunResult`).

Examples
--------
>>> import tempfile, pathlib
>>> from sigma.synthetic import make_phantom
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> src = make_phantom((24, 32), counts_per_pixel=200, n_channels=512, energy_scale=0.04,
...                    seed=1).save_hspy(tmp / "ph.hspy")
>>> cfg = validate_config({"preprocess": {"bin": [1, 1]},
...     "latent": {"method": "autoencoder", "autoencoder": {"hidden_layer_sizes": [16],
...                "run": {"num_epochs": 2, "batch_size": 128, "learning_rate": 1e-3}}},
...     "clustering": {"method_args": {"n_components": 5, "random_state": 0}},
...     "nmf": {"n_components": 3}, "report": {"enabled": False}})
>>> [res] = run_batch([src], cfg, tmp / "out", progress=False)
>>> res.ok, sorted(p.name for p in res.out_dir.iterdir())[:3]
(True, ['abundance_maps.npy', 'abundance_maps.png', 'autoencoder'])
"""

from __future__ import annotations

import logging
from pathlib import Path

from .._errors import bad_value
from .config import validate_config
from .outputs import StagedOutput, check_free, check_free_file
from .provenance import StageTimer
from .results import (
    STAGE_ERRORS,
    STATE_FILE,
    RunResult,
    _base_record,
    _dataset_record,
    _done,
    _fail,
    _finish,
    _input_entry_later,
    _stem,
)
from .second_look import cluster_dataset
from .shared import run_shared
from .stages import STAGES, _bar, _tick, _unmix_stage, prepare_dataset

log = logging.getLogger(__name__)

__all__ = ["RunResult", "prepare_dataset", "run_batch", "STAGES", "STATE_FILE"]

# ----------------------------------------------------------------------------- one input
def run_one(path, cfg: dict, out, *, overwrite=False, progress=True, lazy=None, options=None,
            report_extra=None, after_outputs=None, protect=()) -> RunResult:
    """Run every stage on one input; errors are caught and reported in the result
    (``KeyboardInterrupt`` is not: it removes the partial output and propagates)."""
    path = Path(path)
    res = RunResult(input=path, stem=_stem(path))
    timer = StageTimer(prefix=f"{res.stem}: ")
    record = _base_record(path, cfg, options or {}, input_entry={"path": str(path)})
    bar = _bar(len(STAGES), res.stem, progress)
    try:
        with StagedOutput(out, res.stem, overwrite=overwrite, protect=(path, *protect)) as stage:
            ds = prepare_dataset(path, cfg, timer, lazy=lazy, bar=bar)
            # hashed while the (single-threaded, seeded) UMAP leaves a core free and the file
            # is in the page cache; hashed during the load, it slowed the load down
            hashed = _input_entry_later(path)
            ps, _ = cluster_dataset(ds, cfg, timer, work_dir=stage.path / "autoencoder",
                                    progress=progress)
            _tick(bar, 2)
            unmix, failed = _unmix_stage(ps, cfg, timer, progress)
            _tick(bar)
            record["dataset"] = _dataset_record(ds)
            record["input"] = hashed.result()
            res.report = _finish(stage, ps, ds, cfg, unmix, record, timer, bar, report_extra, progress,
                                 after_outputs, failed)
        _done(res, stage.final, record)
    except STAGE_ERRORS as exc:
        _fail(res, exc)
    finally:
        bar.close()
        res.timings = dict(timer.timings)
    return res


# ----------------------------------------------------------------------------- batch
def run_batch(inputs, cfg: dict | None, out, *, overwrite: bool = False, shared_phases: bool = False,
              workers: int | None = None, scheduler: str | None = None, progress: bool = True,
              config_path=None, report_extra=None, after_outputs=None) -> list[RunResult]:
    """Run the pipeline on every input (optionally with shared phases and on a dask cluster).

    Parameters
    ----------
    inputs : sequence of path-like
    cfg : dict or None
        A validated configuration (:func:`~sigma.pipeline.config.validate_config`); defaults if
        None.
    out : path-like
        Output folder; each input writes ``OUT/<stem>/``.
    overwrite : bool
        Replace existing ``OUT/<stem>/`` folders that an earlier SIGMA2 run wrote (their
        ``run.json`` lists every file in them). A folder holding anything else (an input, a
        user's file) is never replaced: it is an error, as is any existing output without
        ``overwrite``; both are checked before any work.
    shared_phases : bool
        One latent space and clustering across all inputs.
    workers, scheduler
        dask.distributed scale-out (:func:`~sigma.pipeline.scaleout.dask_client`); the cube is
        then read lazily.
    progress : bool
        Progress bars.
    config_path : path-like, optional
        Recorded in ``run.json``.
    report_extra : dict, optional
        ``{heading: html}`` sections appended to each report.
    after_outputs : callable, optional
        ``f(segmenter, record) -> dict`` called after the outputs are written; its result is
        stored as ``extra`` in ``run.json`` (the demo scores against its ground truth here).

    Returns
    -------
    list of RunResult
        One per input, in order.

    Examples
    --------
    >>> import os, tempfile
    >>> from sigma.synthetic import make_phantom
    >>> from sigma.pipeline.config import validate_config
    >>> tmp = tempfile.mkdtemp()
    >>> src = make_phantom((16, 16)).save_hspy(os.path.join(tmp, "ph.hspy"))
    >>> cfg = validate_config({"latent": {"umap": {"n_neighbors": 10}}})
    >>> [res] = run_batch([src], cfg, os.path.join(tmp, "out"), progress=False)  # doctest: +SKIP
    >>> res.ok, res.out_dir.name, len(res.proportions)  # doctest: +SKIP
    (True, 'ph', 10)
    """
    from .scaleout import dask_client

    cfg = validate_config(cfg) if cfg is None else cfg
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise bad_value("inputs", inputs, "at least one input file")
    stems = [_stem(p) for p in inputs]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise bad_value("inputs", [str(p) for p in inputs],
                        f"files with distinct names (each writes OUT/<name>; repeated: {dupes})")
    out = Path(out)
    for s in stems:
        check_free(out / s, overwrite, protect=inputs)
    if shared_phases:
        check_free_file(out / "shared_proportions.csv", overwrite)
    options = {
        "shared_phases": shared_phases, "workers": workers, "scheduler": scheduler,
        "overwrite": overwrite, "config_file": str(config_path) if config_path else None,
    }
    lazy = True if (workers or scheduler) else None
    with dask_client(workers, scheduler) as client:
        if client is not None:
            options["dask_dashboard"] = None
            options["dask_workers"] = len(client.scheduler_info().get("workers", {}))
        if shared_phases:
            return run_shared(inputs, cfg, out, overwrite=overwrite, progress=progress, lazy=lazy,
                              options=options)
        return [run_one(p, cfg, out, overwrite=overwrite, progress=progress, lazy=lazy,
                        options=options, report_extra=report_extra, after_outputs=after_outputs,
                        protect=inputs)
                for p in inputs]
