"""What a run writes and records: per-input outputs, ``run.json`` and the result of one input."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import SigmaError
from .outputs import (
    StagedOutput,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_npy,
    atomic_write_text,
    atomic_write_tiff,
)
from .provenance import environment, input_record, package_versions
from .stages import _tick

log = logging.getLogger(__name__)

__all__ = ["RunResult", "STATE_FILE"]

#: Name of the segmenter state file inside ``OUT/<stem>/``.
STATE_FILE = "segmenter_state.npz"


@dataclass
class RunResult:
    """What happened to one input.

    Attributes
    ----------
    input : Path
    stem : str
        Name of its output folder.
    ok : bool
    out_dir, report : Path or None
        ``OUT/<stem>`` and its ``report.html`` when done.
    error : str or None
        One-line reason of the failure.
    failed_stage : str or None
        The stage that failed after the clustering (``'nmf'``, ``'report'``): the outputs of
        the stages before it are in ``out_dir`` and ``run.json`` says ``"status": "partial"``.
    timings : dict
        Seconds per stage.
    proportions : dict
        Cluster id → area fraction.

    Examples
    --------
    :func:`run_batch` returns one per input:

    >>> from pathlib import Path
    >>> r = RunResult(Path("map.hspy"), "map", error="map.hspy does not exist")
    >>> r.ok, r.out_dir, r.timings
    (False, None, {})
    """

    input: Path
    stem: str
    ok: bool = False
    out_dir: Path | None = None
    report: Path | None = None
    error: str | None = None
    timings: dict = field(default_factory=dict)
    proportions: dict = field(default_factory=dict)
    failed_stage: str | None = None

    @property
    def partial(self) -> bool:
        """A later stage failed; the earlier stages' outputs were kept in ``out_dir``."""
        return self.failed_stage is not None and self.out_dir is not None


#: Errors that fail one stage of one input (anything else, e.g. Ctrl-C, stops the run).
STAGE_ERRORS = (SigmaError, OSError, ValueError, RuntimeError, TypeError, KeyError, IndexError,
                ArithmeticError, MemoryError, AssertionError)


def stage_failure(stage: str, exc: BaseException) -> dict:
    """What ``run.json`` records of a failed later stage."""
    log.error("stage %r failed (%s: %s); keeping the outputs of the stages before it",
              stage, type(exc).__name__, exc)
    log.debug("%s", "".join(traceback.format_exception(exc)))
    return {"stage": stage, "error": f"{type(exc).__name__}: {exc}"}



def _done(res: RunResult, final, record: dict) -> None:
    """Fill ``res`` after its folder was committed: complete, or partial with the failed stage."""
    res.out_dir = final
    res.report = final / "report.html" if (final / "report.html").exists() else None
    res.proportions = record["results"]["proportions"]
    failed = record.get("failed_stage")
    res.ok = failed is None
    if failed:
        res.failed_stage = failed["stage"]
        res.error = f"stage {failed['stage']!r} failed: {failed['error']}"


def _stem(path: Path) -> str:
    return path.name if path.is_dir() else path.stem



# ----------------------------------------------------------------------------- outputs
def _png(fig) -> bytes:
    from ..plot import figure_to_png

    return figure_to_png(fig, dpi=110)


def write_outputs(folder: Path, ps, ds, cfg: dict, unmix, record: dict) -> dict:
    """Write every per-input file into ``folder``; returns ``{name: relative path}``."""
    from ..plot import new_figure, plot_phase_map

    folder = Path(folder)
    files = {}
    labels = np.asarray(ps.labels, dtype=np.int32)
    fig = new_figure((6, 5), layout="constrained")
    plot_phase_map(ps, alpha=cfg["report"]["alpha"], ax=fig.add_subplot())
    files["phase_map"] = atomic_write_bytes(folder / "phase_map.png", _png(fig))
    files["labels_npy"] = atomic_write_npy(folder / "labels.npy", labels)
    files["labels_tiff"] = atomic_write_tiff(folder / "labels.tiff", labels)
    if cfg["masks"]["export"]:
        hr = cfg["masks"]["high_res_path"] or None
        ps.export_cluster_masks(output_dir=folder / "masks", high_res_path=hr)
        files["masks"] = folder / "masks"
    energy = np.asarray(ps.energy_axis, dtype=float)
    ids = ps.cluster_ids.tolist()
    ps.get_cluster_spectra("sum", progress=False)  # one pass; the mean is derived from it
    spec = np.asarray(ps.get_cluster_spectra("mean"), dtype=float)
    files["cluster_spectra"] = atomic_write_csv(
        folder / "cluster_spectra.csv", ["energy_keV", *[f"cluster_{i}" for i in ids]],
        np.column_stack([energy, spec.T]) if len(ids) else energy[:, None],
    )
    # the phase's own spectrum: each cluster's core pixels (no boundary mixing); the same pass
    core = np.asarray(ps.get_cluster_spectra("core"), dtype=float)
    files["cluster_core_spectra"] = atomic_write_csv(
        folder / "cluster_core_spectra.csv", ["energy_keV", *[f"cluster_{i}" for i in ids]],
        np.column_stack([energy, core.T]) if len(ids) else energy[:, None],
    )
    net_info = None
    if ps._is_thin_sample() and len(ids):
        # TEM: the core spectra less the support film and, for a core, its shell (same pass)
        net = ps.get_net_spectra()
        files["cluster_net_spectra"] = atomic_write_csv(
            folder / "cluster_net_spectra.csv", ["energy_keV", *[f"cluster_{i}" for i in ids]],
            np.column_stack([energy, np.asarray(net.spectra, dtype=float).T]),
        )
        net_info = {
            "film": net.film, "film_reason": net.film_reason,
            "peeled": {str(i): {"host": h, "factor": round(float(net.factors[i]), 4)}
                       for i, h in net.hosts.items()},
        }
    pure_info = None
    if not ps._is_thin_sample() and len(ids) > 1:
        # SEM: every pixel of a cluster with its neighbour's share of each rim pixel removed
        pure = ps.get_pure_spectra()
        files["cluster_pure_spectra"] = atomic_write_csv(
            folder / "cluster_pure_spectra.csv", ["energy_keV", *[f"cluster_{i}" for i in ids]],
            np.column_stack([energy, np.asarray(pure.spectra, dtype=float).T]),
        )
        pure_info = {"neighbour_share": {str(i): round(float(x), 4)
                                         for i, x in zip(ids, pure.neighbour_share, strict=True)}}
    props = ps.phase_proportions(exclude_noise=True)
    props_all = ps.phase_proportions(exclude_noise=False)
    rows = [[i, ps.colors.get(i, ""), int(c), float(p), float(pa)]
            for i, c, p, pa in zip(ids, ps.counts, props, props_all, strict=True)]
    if ps.noise_count:
        rows.append([-1, ps.colors.get(-1, ""), int(ps.noise_count), 0.0, ps.noise_count / ps.n_pixels])
    files["phase_proportions"] = atomic_write_csv(
        folder / "phase_proportions.csv",
        ["cluster", "color", "pixels", "fraction", "fraction_of_all_pixels"], rows,
    )
    files["state"] = ps.save_state(folder / STATE_FILE)
    record["results"] = {
        "n_clusters": len(ids),
        "noise_pixels": int(ps.noise_count),
        "excluded_pixels": int(getattr(ps, "excluded_count", 0)),
        "grid": [int(ps.height), int(ps.width)],
        "proportions": {str(i): float(p) for i, p in zip(ids, props, strict=True)},
        "colors": {str(k): v for k, v in ps.colors.items()},
    }
    if unmix is not None:
        try:
            files.update(_write_nmf(folder, ps, unmix, energy))
            record["results"]["nmf_reconstruction_error"] = _float_or_none(
                ps.nmf_reconstruction_error)
        except STAGE_ERRORS as exc:
            record["failed_stage"] = stage_failure("nmf", exc)
            for name in _NMF_FILES:  # none of that stage's files, rather than some
                (folder / name).unlink(missing_ok=True)
    if net_info is not None:
        record["results"]["net_spectra"] = net_info
    if pure_info is not None:
        record["results"]["pure_spectra"] = pure_info
    evidence = getattr(ps, "n_components_evidence", None)
    if evidence is not None:
        record["results"]["n_components_evidence"] = evidence.to_dict()
    record["outputs"] = sorted(str(Path(p).relative_to(folder)) for p in files.values())
    return files


_NMF_FILES = ("nmf_weights.csv", "nmf_components.csv", "abundance_maps.npy", "abundance_maps.png")


def _write_nmf(folder: Path, ps, unmix: dict, energy) -> dict:
    """The NMF stage's files (weights, components, abundance maps)."""
    from ..plot import ABUNDANCE_UNITS, abundance_fractions, plot_feature_maps

    files = {}
    w, c, ab = unmix["weights"], unmix["components"], unmix["abundance"]
    k = c.shape[0]
    files["nmf_weights"] = atomic_write_csv(
        folder / "nmf_weights.csv", ["cluster", *[f"w_{j}" for j in range(k)]],
        [[int(i), *row] for i, row in zip(unmix["cluster_ids"], w, strict=True)],
    )
    files["nmf_components"] = atomic_write_csv(
        folder / "nmf_components.csv", ["energy_keV", *[f"component_{j}" for j in range(k)]],
        np.column_stack([energy, c.T]),
    )
    files["abundance_npy"] = atomic_write_npy(folder / "abundance_maps.npy", ab.astype(np.float32))
    fig = plot_feature_maps(abundance_fractions(ab, c), [f"component {j}" for j in range(k)],
                            title="NMF abundance maps (abundance_maps.npy holds the NNLS weights)",
                            units=ABUNDANCE_UNITS["fraction"], calibration=ps)
    files["abundance_png"] = atomic_write_bytes(folder / "abundance_maps.png", _png(fig))
    return files


def _float_or_none(v):
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _n_empty(ds) -> int:
    """Pixels scanned but without a count (part of :attr:`n_invalid`, labelled by 'auto')."""
    empty = getattr(ds, "empty_mask", None)
    return 0 if empty is None else int(np.count_nonzero(empty))


def _dataset_record(ds) -> dict:
    e = np.asarray(ds.energy_axis)
    return {
        "class": type(ds).__name__,
        "raw_shape": [int(s) for s in ds.spectra.data.shape],
        "grid": [int(s) for s in ds.shape],
        "excluded_pixels": int(getattr(ds, "n_invalid", 0)),
        "empty_pixels": _n_empty(ds),
        "bin_size": [int(s) for s in ds.bin_size],
        "lazy": bool(ds.lazy),
        "energy_axis_keV": {"start": float(e[0]), "stop": float(e[-1]), "channels": int(e.size)},
        "feature_list": list(ds.feature_list),
        "lines_source": getattr(ds, "lines_source", None),
        "lines_review": getattr(ds, "lines_review", None),
        "normalisation_chain": list(getattr(ds, "norm_chain", [])),
        "navigation_image": getattr(ds, "_nav_title", None),
        "beam_energy_kv": ds.info.beam_energy,
        "fwhm_mnka_ev": ds.fwhm_mnka,
    }


def _input_entry(path) -> dict:
    return input_record(path) if Path(path).exists() else {"path": str(path)}


def _input_entry_later(path):
    """``_input_entry(path)`` computed in a background thread (a future): hashing a 3 GB
    input takes seconds that the stages can overlap (file reads and SHA-256 release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="sigma-sha256")
    fut = pool.submit(_input_entry, path)
    pool.shutdown(wait=False)
    return fut


def _base_record(path, cfg, options, *, input_entry=None) -> dict:
    return {
        "sigma2_run": 1,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "input": _input_entry(path) if input_entry is None else input_entry,
        "config": cfg,
        "options": options,
        "versions": package_versions(),
        "environment": environment(),
    }


def _finish(stage: StagedOutput, ps, ds, cfg, unmix, record, timer, bar, report_extra, progress,
            after_outputs=None, failed=None):
    """Write the outputs, the report and ``run.json`` into the staging folder.

    ``failed`` (:func:`stage_failure`) records that the NMF stage failed; a failure of the NMF
    files or of the report is recorded the same way. Either way the clustering's outputs are
    written and ``run.json`` says ``"status": "partial"`` and which stage failed.
    """
    folder = stage.path
    if failed is not None:
        record["failed_stage"] = failed
    ident = None
    if cfg["identify"]["enabled"]:
        from .identify import identify_for_run

        with timer("identify"):  # before the outputs, so the phase-map legend carries names
            ident = identify_for_run(ps, ds, cfg)
    _tick(bar)
    with timer("outputs"):
        write_outputs(folder, ps, ds, cfg, unmix, record)
        if ident is not None:
            from .identify import write_identification

            extra = write_identification(folder, ps, ident, cfg, record)
            record["outputs"] = sorted({*record["outputs"],
                                        *{str(Path(p).relative_to(folder)).split("/")[0] for p in extra}})
        if after_outputs is not None:
            record["extra"] = after_outputs(ps, record) or {}
    _tick(bar)
    report_path = None
    record["timings_s"] = dict(timer.timings)  # the stages so far, for the report's own table
    with timer("report"):
        if cfg["report"]["enabled"]:
            from ..report import build_report

            try:
                html = build_report(ps, ds, cfg, unmix=unmix, record=record, extra=report_extra)
                report_path = atomic_write_text(folder / "report.html", html)
                record["outputs"] = sorted({*record["outputs"], "report.html"})
            except STAGE_ERRORS as exc:
                record.setdefault("failed_stage", stage_failure("report", exc))
    _tick(bar)
    record["status"] = "partial" if record.get("failed_stage") else "complete"
    record["timings_s"] = dict(timer.timings)
    record["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    record["outputs"] = sorted({*record["outputs"], "run.json"})
    atomic_write_text(folder / "run.json", json.dumps(record, indent=2, default=_json_default))
    return report_path


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return repr(o)


def _fail(res: RunResult, exc: BaseException) -> RunResult:
    res.ok = False
    res.error = f"{type(exc).__name__}: {exc}"
    if "serializ" in str(exc) or "cannot be pickled" in str(exc):
        res.error += (" (this file's lazy reader cannot ship its chunks to dask workers; run it "
                      "without --workers/--scheduler, or convert it to .h5oina)")
    log.error("%s failed: %s", res.input, res.error)
    log.debug("%s", "".join(traceback.format_exception(exc)))
    return res


