"""Shared phases: one latent space and one clustering fitted across all inputs of a batch.

All inputs are prepared first; one latent projection and one clusterer are fitted on a balanced
sample (the same number of pixels from every input), then every pixel of every input is
projected and assigned, so cluster *k* is the same phase in every map. The ``zscore`` step uses
statistics pooled over all inputs, so a feature value means the same in every file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._errors import SigmaError
from .._files import FileLedger, StagingDir, clean_stale_staging
from .latent import LatentProjector, balanced_sample
from .outputs import StagedOutput, atomic_write_csv, check_free
from .provenance import StageTimer
from .results import (
    STAGE_ERRORS,
    RunResult,
    _base_record,
    _dataset_record,
    _done,
    _fail,
    _finish,
    _stem,
)
from .stages import (
    _bar,
    _flat_features,
    _segment,
    _tick,
    _unmix_stage,
    _weak_lines,
    load_dataset,
    preprocess_dataset,
)

log = logging.getLogger(__name__)

__all__: list[str] = []  # used through run_batch(..., shared_phases=True)

# ----------------------------------------------------------------------------- shared phases
class _Assigned:
    """An "estimator" whose ``fit_predict`` returns labels assigned elsewhere (shared fit)."""

    def __init__(self, labels, proba=None):
        self.labels = np.asarray(labels, dtype=np.int32)
        if proba is not None:
            self._proba = np.asarray(proba, dtype=np.float32)

    def fit_predict(self, x):
        return self.labels

    def __getattr__(self, name):
        if name == "predict_proba" and "_proba" in self.__dict__:
            return lambda x: self._proba
        raise AttributeError(name)

    def __repr__(self):
        return "SharedPhases()"


def _shared_zscore(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """zscore with mean and std pooled over all inputs (each input weighted by its pixels)."""
    flat = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays]).astype(np.float64)
    mean, std = flat.mean(0), flat.std(0)
    safe = np.where(std > 0, std, 1.0)
    out = []
    for a in arrays:
        z = ((a - mean) / safe).astype(np.float32)
        z[..., std == 0] = 0.0
        out.append(z)
    return out


def _raw_feature_maps(ds, feature_list) -> np.ndarray:
    """Un-normalised feature maps of one dataset with the given features."""
    ds.set_feature_list(list(feature_list))
    return ds.get_feature_maps(list(feature_list))


def _pooled_chain(datasets: dict, maps: dict, chain) -> None:
    """Apply the normalisation chain to every input, zscore with pooled statistics."""
    from ..preprocessing.normalisation import apply_chain

    keys = list(maps)
    arrays = [maps[k] for k in keys]
    for step in chain:
        if step == "zscore":
            arrays = _shared_zscore(arrays)
        else:
            arrays = [apply_chain(a, [step]) for a in arrays]
    for k, a in zip(keys, arrays, strict=True):
        ds = datasets[k]
        ds.normalised_elemental_data = a
        ds.norm_chain = list(chain)
        ds.nav_img_feature = "Navigator" in ds.feature_list


def _assign(model, method: str, sample_latent, sample_labels, latent):
    """Labels (and probabilities) of new latent points from the clusterer fitted on the sample."""
    if hasattr(model, "predict") and method != "HDBSCAN":
        lab = np.asarray(model.predict(latent), dtype=np.int32)
        proba = model.predict_proba(latent) if hasattr(model, "predict_proba") else None
        return lab, proba
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=min(15, len(sample_latent))).fit(sample_latent, sample_labels)
    return knn.predict(latent).astype(np.int32), None


def run_shared(paths, cfg: dict, out, *, overwrite=False, progress=True, lazy=None,
               options=None) -> list[RunResult]:
    """One latent space and one clustering for all inputs (see the module notes)."""
    from ..clustering import fit_clusters

    paths = [Path(p) for p in paths]
    results = {p: RunResult(input=p, stem=_stem(p)) for p in paths}
    timers = {p: StageTimer(prefix=f"{results[p].stem}: ") for p in paths}
    datasets = {}
    for p in paths:
        try:
            check_free(Path(out) / results[p].stem, overwrite, protect=paths)
            with timers[p]("load"):
                ds = load_dataset(p, cfg, lazy=lazy)
            with timers[p]("preprocess"):
                preprocess_dataset(ds, cfg)
            datasets[p] = ds
        except (SigmaError, OSError, ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
            _fail(results[p], exc)
    if not datasets:
        return list(results.values())
    f = cfg["features"]
    if f["lines"] == "auto":
        feats = sorted({x for ds in datasets.values() for x in ds.xray_lines})
        if f["min_line_counts"] > 0:
            # a line stays when it is strong enough in at least one input
            strong = set()
            for ds in datasets.values():
                strong |= set(ds.xray_lines) - set(_weak_lines(ds, f["min_line_counts"]))
            dropped = [x for x in feats if x not in strong]
            if dropped and strong:
                log.warning("dropped %s from the shared feature list: fewer than %g counts per pixel "
                            "in their brightest 5 %% of pixels in every input", ", ".join(dropped),
                            f["min_line_counts"])
                feats = [x for x in feats if x in strong]
        log.info("shared feature list (union of the inputs' lines): %s", feats)
    else:
        feats = list(f["lines"])
    if f["bse"]:
        feats = [*feats, "Navigator"]
    maps = {}
    for p in list(datasets):
        try:
            with timers[p]("features"):
                maps[p] = _raw_feature_maps(datasets[p], feats)
        except (SigmaError, OSError, ValueError, RuntimeError) as exc:
            _fail(results[p], exc)
            del datasets[p]
    if not datasets:
        return list(results.values())
    keys = list(datasets)
    t0 = StageTimer()
    with t0("features"):
        _pooled_chain(datasets, maps, f["normalisation"])
    del maps
    xs = {p: _flat_features(datasets[p]) for p in keys}
    sh = cfg["shared"]
    idx = balanced_sample([len(xs[p]) for p in keys], sh["pixels_per_input"], sh["seed"])
    sample = np.concatenate([xs[p][i] for p, i in zip(keys, idx, strict=True)])
    log.info("shared fit on %d pixels (%d from each of %d inputs)", len(sample), len(idx[0]), len(keys))
    tfit = StageTimer(prefix="shared: ")
    # the autoencoder's working folder: locked while in use, removed however the fit ends
    # (error, Ctrl-C, SIGTERM); one left by a killed run is removed by the next run
    clean_stale_staging(out)
    work = StagingDir(out, ".shared-autoencoder") if cfg["latent"]["method"] == "autoencoder" else None
    try:
        with tfit("latent"):
            proj = LatentProjector(cfg["latent"], work_dir=work.path if work else None,
                                   progress=progress).fit(sample)
            latents = {p: proj.transform(xs[p]) for p in keys}
        cl = cfg["clustering"]
        with tfit("clustering"):
            fit = fit_clusters(proj.fit_latent_, cl["method"], dict(cl["method_args"]),
                               random_state=cl["method_args"].get("random_state", 0) or 0)
            assigned = {p: _assign(fit.model, cl["method"], proj.fit_latent_, fit.labels, latents[p])
                        for p in keys}
    finally:
        if work is not None:
            work.remove()
    shared_info = {
        "inputs": [str(p) for p in keys],
        "pixels_per_input": int(len(idx[0])),
        "feature_list": feats,
        "zscore": "pooled over all inputs",
        "timings_s": dict(tfit.timings),
    }
    for p in keys:
        res, timer = results[p], timers[p]
        timer.timings["features"] = round(timer.timings.get("features", 0) + t0.timings["features"] / len(keys), 4)
        for k, v in tfit.timings.items():
            timer.timings[f"shared_{k}"] = v
        record = _base_record(p, cfg, {**(options or {}), "shared_phases": True})
        record["shared"] = shared_info
        bar = _bar(4, res.stem, progress)
        try:
            with StagedOutput(out, res.stem, overwrite=overwrite, protect=paths) as stage:
                labels, proba = assigned[p]
                with timer("clustering"):
                    ps = _segment(latents[p], datasets[p], cfg, method=_Assigned(labels, proba))
                _tick(bar)
                unmix, failed = _unmix_stage(ps, cfg, timer, progress)
                _tick(bar)
                record["dataset"] = _dataset_record(datasets[p])
                _finish(stage, ps, datasets[p], cfg, unmix, record, timer, bar, None, progress,
                        failed=failed)
            _done(res, stage.final, record)
        except STAGE_ERRORS as exc:
            _fail(res, exc)
        finally:
            bar.close()
            res.timings = dict(timer.timings)
    done = [results[p] for p in keys if results[p].out_dir is not None]
    if done:
        ids = sorted({int(i) for r in done for i in r.proportions})
        rows = [[i, *[r.proportions.get(str(i), 0.0) for r in done]] for i in ids]
        ledger = FileLedger(out)
        ledger.check_writable(["shared_proportions.csv"])
        ledger.record([atomic_write_csv(Path(out) / "shared_proportions.csv",
                                        ["cluster", *[r.stem for r in done]], rows)])
    return list(results.values())


