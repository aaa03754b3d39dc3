"""The ``identify`` stage of a run: name the clusters, modal statistics, EMSA spectra.

Configured by ``[identify]`` (:mod:`sigma.pipeline.config`). It never fails the run: when the
phases cannot be named (no beam energy in the file, a bad library file …) the reason is logged
and recorded in ``run.json`` under ``results.identification_error``, and the other outputs are
written as usual.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .._errors import SigmaError
from .outputs import atomic_write_csv

log = logging.getLogger(__name__)

#: Files the stage writes inside ``OUT/<stem>/``.
FILES = {
    "identification": "phase_identification.csv",
    "elements": "phase_elements.csv",
    "modal": "modal_statistics.csv",
    "grains": "grains.csv",
    "association": "phase_association.csv",
    "cliff_lorimer": "cliff_lorimer.csv",
    "spectra": "spectra",
}


def build_library(icfg: dict):
    """The phase library a run uses: bundled (or ``library``), plus ``extra_library`` entries and
    ``references`` spectra, restricted to ``classes``."""
    from ..identify import default_library, read_library

    lib = read_library(Path(icfg["library"])) if icfg["library"] else default_library()
    for path in icfg["extra_library"]:
        for phase in read_library(Path(path)):
            lib._insert(phase, replace=True)
    if icfg["classes"]:
        lib = lib.restrict(classes=icfg["classes"])
    for path in icfg["references"]:
        lib.add_reference(Path(path).stem, Path(path), replace=True)
    return lib


def identify_for_run(ps, ds, cfg: dict) -> dict:
    """Identify the clusters of ``ps``; returns ``{'result', 'modal', 'error'}``."""
    icfg = cfg["identify"]
    out = {"result": None, "modal": None, "error": None, "cliff_lorimer": None}
    try:
        out["modal"] = ps.modal_statistics()
    except (SigmaError, ValueError) as exc:  # a label image it cannot measure: say so, go on
        out["error"] = f"modal statistics: {exc}"
        log.warning("modal statistics failed: %s", exc)
    try:
        lib = build_library(icfg)
        nuisance = None if icfg["nuisance"] == "auto" else icfg["nuisance"]
        res = ps.identify_phases(lib, nuisance=nuisance, min_p_value=icfg["min_p_value"],
                                 calibrate=icfg["calibrate"], beam_energy=icfg["beam_energy"] or None,
                                 min_significance=icfg["min_significance"])  # fmt: skip
        out["result"] = res
        if icfg["kfactors"]:
            out["cliff_lorimer"] = res.cliff_lorimer(dict(icfg["kfactors"]))
    except (SigmaError, ValueError, OSError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        log.warning("phase identification failed: %s", exc)
    return out


def write_identification(folder: Path, ps, ident: dict, cfg: dict, record: dict) -> list[Path]:
    """Write the stage's CSV and EMSA files and add its results to ``record['results']``."""
    folder = Path(folder)
    written: list[Path] = []
    results = record.setdefault("results", {})
    res, modal = ident["result"], ident["modal"]
    names = res.names if res is not None else {}
    if ident["error"]:
        results["identification_error"] = ident["error"]
    if res is not None:
        from ..identify.clusters import ROW_COLUMNS

        written.append(atomic_write_csv(folder / FILES["identification"], ROW_COLUMNS, res.rows()))
        rows = []
        for cid, r in res.results.items():
            for el in (r.elements.elements if r.elements is not None else []):
                for ln in el.lines:
                    rows.append([cid, el.element, ln.line, ln.energy, ln.net, ln.sigma, ln.background,
                                 el.significance, int(ln.above_3_sqrt_b), " ".join(el.ambiguous_with)])  # fmt: skip
        written.append(atomic_write_csv(
            folder / FILES["elements"],
            ["cluster", "element", "line", "energy_keV", "net_counts", "sigma", "background_counts",
             "significance_sigma", "net_above_3_sqrt_background", "ambiguous_with"], rows))  # fmt: skip
        results["identification"] = res.to_dict()
        results["names"] = {str(k): v for k, v in names.items()}
    if modal is not None:
        table = modal.table(names)
        head = list(table[0]) if table else ["cluster"]
        written.append(atomic_write_csv(folder / FILES["modal"], head, [list(t.values()) for t in table]))
        written.append(atomic_write_csv(
            folder / FILES["grains"],
            ["cluster", "pixels", f"area_{modal.unit}2", f"ecd_{modal.unit}", "touches_edge"],
            [[int(g[0]), int(g[1]), float(g[2]), float(g[3]), int(g[4])] for g in modal.grains]))  # fmt: skip
        head, rows = modal.association_table()
        written.append(atomic_write_csv(folder / FILES["association"], head, rows))
        results["modal"] = modal.to_dict(names)
    if ident.get("cliff_lorimer"):
        els = sorted({e for comp in ident["cliff_lorimer"].values() for e in comp})
        rows = [[cid, *[comp.get(e, float("nan")) for e in els]] for cid, comp in ident["cliff_lorimer"].items()]
        written.append(atomic_write_csv(folder / FILES["cliff_lorimer"], ["cluster", *[f"{e}_at_percent" for e in els]], rows))
        results["cliff_lorimer_at_percent"] = {str(k): v for k, v in ident["cliff_lorimer"].items()}
    if cfg["identify"]["export_emsa"]:
        try:
            written.extend(ps.export_phase_spectra(folder / FILES["spectra"], overwrite=True))
        except (SigmaError, ValueError, OSError) as exc:
            results["emsa_error"] = f"{type(exc).__name__}: {exc}"
            log.warning("EMSA export failed: %s", exc)
    return written


__all__ = ["FILES"]
