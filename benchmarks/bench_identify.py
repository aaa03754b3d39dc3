"""What each phase is: naming, elements and "unknown" on phantoms, on an independent forward model
and on real files (issue 11).

Four parts, each printing a table and adding to one JSON file in ``benchmarks/results``:

``phantom``
    Phantoms of the project's generator (:func:`sigma.synthetic.make_phantom`) whose five phases
    are drawn at random from the bundled library (no two of the same composition, each with a
    line excited at the beam energy), at several beam energies and counts per pixel. Each is
    run through the default pipeline (2×2 binning, automatic lines, neighbour averaging +
    z-score, UMAP, Gaussian mixture told the number of phases, ``refine='spectra'``) and the
    clusters are identified (:meth:`PixelSegmenter.identify_phases`). A cluster is scored when
    it holds ≥ 5,000 counts and ≥ 90 % of its pixels are of one phase (a mixed cluster has no
    single right name). Scores: ``top1`` (strict), the true phase ranked first (or in the
    polymorph group ranked first); ``top1_group``, the true phase in the group the result names
    as indistinguishable by EDS at these counts (``PhaseIdentification.group``: phases whose
    predicted line intensities differ from the best's by less than the noise and the model
    error, e.g. "jadeite or analcime", or that fit the spectrum within ``UNRESOLVED_CHI2`` of
    the best — a group of several phases counts as right when it holds the truth, so both
    figures are reported, with the mean group size and the share of groups of more than three
    phases); elements found, precision and recall, against the abundance-weighted composition
    of the cluster's pixels (boundary pixels mix neighbours into a cluster's counts): recall
    over its elements with ≥ 2 wt % and an excited line in the window, precision counting as
    false an element (or ambiguous group) absent from every phase the cluster's pixels hold.
``unknown``
    The same cluster spectra identified again with each cluster's true phase — and every
    entry of the same composition — removed from the library: the right answer is "unknown".
    Reported strictly (``unknown_rate``) and counting also as no wrong name a phase that the
    full-library result groups with the truth (``unknown_or_indistinguishable_rate``: EDS
    cannot tell it from the truth at these counts, so "unknown" is not to be expected).
``independent``
    Spectra made by a forward model written here, sharing nothing with the generator nor with
    :mod:`sigma.identify.physics` except eXSpy's line energies, weights and mass absorption
    coefficients: Bethe ionisation integrated with a constant-log stopping power,
    :math:`(U_0\\ln U_0 - U_0 + 1)`, Hubbell's K and Wentzel-type L/M fluorescence yields,
    Heinrich's quadratic absorption model applied to lines and Kramers continuum alike, a
    carbon/aluminium window, Gaussian lines (no escape, no tails). Five random library phases
    per "map", summed counts 5,000 – 100,000, several beam energies; named with
    :func:`sigma.identify.identify_spectra` (defaults: one energy calibration for the map, no
    sensitivity calibration), then each again with its
    phase left out of the library (the right answer: "unknown").
``physics``
    How far the generator's line intensities are from :mod:`sigma.identify.physics`: per line
    family, the log ratio of their peak-to-background over every library phase at 20 kV.
``speed``
    Seconds to name a map of ten phases: a phantom whose clusters are its phases, and the real
    P45 map's clusters from the default ``sigma run`` (whose identify-stage time is reported
    too); cold (every cache cleared) and warm (columns and library predictions cached).
``real``
    ``sigma``'s default pipeline and identification on the real files with known phases
    (``SIGMA_SHARED_DATA``/real): the Hitachi benchtop Cu-on-Al standard, the P45 dacite.

Usage::

    python benchmarks/bench_identify.py                       # all parts
    python benchmarks/bench_identify.py --parts independent --maps 40
    python benchmarks/bench_identify.py --parts phantom unknown --energies 15 20 --counts 10 100
    python benchmarks/bench_identify.py --parts phantom unknown independent --dump spectra.json

``--dump`` writes every map's cluster spectra, energy axis and scored rows (and the independent
model's spectra), so the naming can be studied again (``identify_clusters`` on them) without
clustering the phantoms again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

N_PHASES = 5
MIN_COUNTS = 5000
MIN_PURITY = 0.9
MIN_WT = 0.02


# ----------------------------------------------------------------------------- helpers
def _draw_phases(lib, rng, beam_energy, n=N_PHASES, axis_range=(0.25, 19.5)):
    from sigma.identify.physics import composition_detectable_elements
    from sigma.xray.lines import _db

    names = [p.name for p in lib if p.reference is None]
    out, comps = [], []
    while len(out) < n:
        p = lib[names[rng.integers(len(names))]]
        if any(q.name in out for q in lib.same_composition(p)):
            continue
        if any(el not in _db() for el in p.composition):  # the generator needs lines (not Li)
            continue
        if not composition_detectable_elements(p.composition, beam_energy, axis_range, MIN_WT):
            continue
        out.append(p.name)
        comps.append(p.composition)
    return out


def _truth_elements(comp, beam_energy, lo=0.25, hi=19.5):
    from sigma.identify.physics import composition_detectable_elements

    return set(composition_detectable_elements(comp, beam_energy, (lo, min(hi, beam_energy)), MIN_WT))


def _element_scores(res, comp, beam_energy, present=None):
    """(true positives, false positives, false negatives) of one cluster's elements.

    ``comp`` is what the cluster's counts come from (its phase, or the abundance-weighted mix
    of the phases its pixels hold); ``present`` every element with any share in it (a line of
    a 0.5 % neighbour is really in the summed counts: reporting it is no false positive).
    """
    truth = _truth_elements(comp, beam_energy)
    present = set(comp) if present is None else set(present)
    groups = [{e.element, *e.ambiguous_with} for e in res.elements.elements]
    tp = sum(1 for el in truth if any(el in g for g in groups))
    fp = sum(1 for g in groups if not (g & present))
    return tp, fp, len(truth) - tp


def _cluster_mixture(ph, ps, cid, phases, names, f=2):
    """Abundance-weighted composition of a cluster's pixels on the 2x2-binned grid."""
    h, w = ph.labels.shape
    ab = ph.abundances[: h // f * f, : w // f * f].reshape(h // f, f, w // f, f, -1).mean((1, 3))
    wts = ab[np.asarray(ps.labels) == cid].sum(0)
    wts = wts / max(wts.sum(), 1e-12)
    mix: dict = {}
    for wt, n in zip(wts, names, strict=True):
        for el, c in phases[n].items():
            mix[el] = mix.get(el, 0.0) + wt * c
    return mix


def _correct(res, true_name):
    """Strict: the best-ranked candidate is the truth (or a polymorph of it)."""
    b = res.best
    return res.status == "identified" and b is not None and (
        b.phase.name == true_name or true_name in b.same_composition)


def _correct_group(res, true_name):
    """The truth is in the group of phases the result says EDS cannot tell apart here."""
    return res.status == "identified" and true_name in res.group


def _truth_gap(res, true_name):
    """(rank of the truth among the kept candidates or -1, its score minus the best's)."""
    for i, c in enumerate(res.candidates):
        if c.phase.name == true_name or true_name in c.same_composition:
            return i, float(c.score - res.candidates[0].score)
    return -1, float("nan")


def _indistinguishable_left_out(full, left, true_name):
    """With the truth left out, the phase named instead is one the full-library result groups
    with the truth (EDS cannot tell them apart at these counts): no wrong name, though not
    "unknown" either."""
    return (left.status == "identified" and left.best is not None and true_name in full.group
            and left.best.phase.name in full.group)


# ----------------------------------------------------------------------------- phantom
def _cluster_phantom(ph, n_phases):
    from sigma.clustering import PixelSegmenter
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.latent import LatentProjector
    from sigma.pipeline.stages import prepare_dataset

    cfg = validate_config({"preprocess": {"bin": [2, 2]}})
    ds = prepare_dataset(ph.to_signal(), cfg)
    x = ds.normalised_elemental_data.reshape(-1, len(ds.feature_list))
    latent = LatentProjector(cfg["latent"], progress=False).fit_transform_sampled(x, cfg["latent"]["fit_pixels"], seed=0)
    return PixelSegmenter(latent, ds, "GaussianMixture", {"n_components": n_phases, "random_state": 0},
                          refine="spectra")


def _block_truth(ph, f=2):
    h, w = ph.labels.shape
    lab = ph.labels[: h // f * f, : w // f * f].reshape(h // f, f, w // f, f).transpose(0, 2, 1, 3)
    lab = lab.reshape(h // f, w // f, f * f)
    maj = np.apply_along_axis(lambda v: np.bincount(v, minlength=N_PHASES).argmax(), -1, lab)
    return maj


def phantom(energies, counts_list, n_maps, shape, seed, out, dump=None):
    from sigma.identify import default_library, identify_clusters
    from sigma.synthetic import make_phantom

    lib = default_library()
    rng = np.random.default_rng(seed)
    rows, unknown_rows = [], []
    for e0 in energies:
        for cpp in counts_list:
            for m in range(n_maps):
                names = _draw_phases(lib, rng, e0)
                phases = {n: lib[n].composition for n in names}
                t = time.perf_counter()
                ph = make_phantom(shape, phases=phases, beam_energy=e0, counts_per_pixel=cpp,
                                  seed=int(rng.integers(1 << 30)))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ps = _cluster_phantom(ph, N_PHASES)
                t_cluster = time.perf_counter() - t
                t = time.perf_counter()
                res = ps.identify_phases(lib)
                t_ident = time.perf_counter() - t
                truth = _block_truth(ph)
                n_rows = len(rows)
                spectra = np.asarray(ps.get_cluster_spectra("sum"))
                keep_ids, keep_truth, keep_cids = [], [], []
                for k, cid in enumerate(ps.cluster_ids.tolist()):
                    sel = truth[ps.labels == cid]
                    if sel.size == 0:
                        continue
                    counts = np.bincount(sel, minlength=N_PHASES)
                    t_idx = int(counts.argmax())
                    purity = counts[t_idx] / sel.size
                    r = res.results[cid]
                    total = float(spectra[k].sum())
                    scored = total >= MIN_COUNTS and purity >= MIN_PURITY
                    mix = _cluster_mixture(ph, ps, cid, phases, names)
                    tp, fp, fn = _element_scores(r, mix, e0, present=[el for el, c in mix.items() if c > 0])
                    rows.append({"beam_kv": e0, "counts_per_px": cpp, "map": m, "cluster": cid,
                                 "truth": names[t_idx], "purity": float(purity), "counts": total,
                                 "scored": scored, "named": r.name, "status": r.status,
                                 "correct": _correct(r, names[t_idx]),
                                 "correct_group": _correct_group(r, names[t_idx]), "group": list(r.group),
                                 "in_alternatives": names[t_idx] in " | ".join(r.alternatives),
                                 "truth_rank_gap": _truth_gap(r, names[t_idx]),
                                 "best_p": float(r.best.p_value) if r.best is not None else float("nan"),
                                 "tp": tp, "fp": fp, "fn": fn, "mix": mix,
                                 "found": r.elements.summary(),
                                 "t_cluster_s": t_cluster, "t_identify_s": t_ident / max(len(res), 1)})
                    if scored:
                        keep_cids.append(cid)
                        keep_ids.append(k)
                        keep_truth.append(names[t_idx])
                if dump is not None:
                    dump["phantom"].append({"beam_kv": e0, "counts_per_px": cpp, "map": m, "spectra": spectra,
                                            "cluster_ids": ps.cluster_ids.tolist(), "energy": np.asarray(ps.energy_axis),
                                            "rows": rows[n_rows:]})
                # left-out phases: the same spectra against a library without the true phase
                for k, tname, cid in zip(keep_ids, keep_truth, keep_cids, strict=True):
                    drop = [p.name for p in lib.same_composition(lib[tname])]
                    sub = lib.restrict(exclude=drop)
                    r2 = identify_clusters(spectra[k : k + 1], [0], ps.energy_axis, beam_energy=e0,
                                           library=sub, calibrate=False,
                                           report_cache=ps._report_cache).results[0]
                    unknown_rows.append({"beam_kv": e0, "counts_per_px": cpp, "truth": tname,
                                         "status": r2.status, "named": r2.name,
                                         "indistinguishable": _indistinguishable_left_out(
                                             res.results[cid], r2, tname)})
                print(f"  {e0:g} kV {cpp:g} c/px map {m}: " + "; ".join(
                    f"{r['truth']}→{r['named'].split(' ')[0]}{'' if r['correct'] else ' ≈' if r['correct_group'] else ' ✗'}"
                    for r in rows if r["map"] == m and r["beam_kv"] == e0 and r["counts_per_px"] == cpp
                    and r["scored"]), flush=True)  # fmt: skip
    scored = [r for r in rows if r["scored"]]
    summ = _summary(scored)
    unk = {"n": len(unknown_rows),
           "unknown_rate": _rate([r["status"] == "unknown" for r in unknown_rows]),
           "unknown_or_indistinguishable_rate": _rate([r["status"] == "unknown" or r["indistinguishable"]
                                                       for r in unknown_rows])}
    out["phantom"] = {"summary": summ, "by_energy": {str(e): _summary([r for r in scored if r["beam_kv"] == e]) for e in energies},
                      "by_counts": {str(c): _summary([r for r in scored if r["counts_per_px"] == c]) for c in counts_list},
                      "clusters_total": len(rows), "clusters_scored": len(scored), "rows": rows}
    out["unknown"] = {**unk, "rows": unknown_rows}
    _print_summary("phantom (generator, after clustering)", summ, len(rows))
    print(f"left-out phases: {unk['unknown_rate']:.3f} reported unknown (n={unk['n']}); "
          f"{unk['unknown_or_indistinguishable_rate']:.3f} unknown or named a phase EDS cannot tell "
          "from the truth at these counts")


def _rate(flags):
    flags = list(flags)
    return float(np.mean(flags)) if flags else float("nan")


def _summary(rows):
    tp = sum(r["tp"] for r in rows)
    fp = sum(r["fp"] for r in rows)
    fn = sum(r["fn"] for r in rows)
    sizes = [len(r["group"]) for r in rows if r["status"] == "identified"]
    return {"n": len(rows), "top1": _rate(r["correct"] for r in rows),
            "mean_group_size": float(np.mean(sizes)) if sizes else float("nan"),
            "groups_over_3": _rate(n > 3 for n in sizes),
            "top1_group": _rate(r["correct_group"] for r in rows),
            "top1_or_alternative": _rate(r["correct"] or r["in_alternatives"] for r in rows),
            "unknown": _rate(r["status"] == "unknown" for r in rows),
            "element_precision": tp / (tp + fp) if tp + fp else float("nan"),
            "element_recall": tp / (tp + fn) if tp + fn else float("nan")}


def _print_summary(title, s, total=None):
    extra = f" of {total} clusters" if total is not None else ""
    print(f"{title}: n={s['n']}{extra}  top-1 {s['top1']:.3f}  (in the indistinguishable group "
          f"{s['top1_group']:.3f}, mean group size {s['mean_group_size']:.2f}, groups of > 3 "
          f"{s['groups_over_3']:.3f}; top-1 or listed alternative "
          f"{s['top1_or_alternative']:.3f})  unknown {s['unknown']:.3f}  elements precision "
          f"{s['element_precision']:.3f} recall {s['element_recall']:.3f}")


# ----------------------------------------------------------------------------- independent
def _hubbell_omega_k(z):
    d = 0.0370 + 0.03112 * z + 5.44e-5 * z**2 - 1.25e-6 * z**3
    return d**4 / (1 + d**4)


def textbook_spectrum(comp, axis, beam_energy, *, takeoff_deg=40.0):
    """Noiseless spectrum (sum 1) from the textbook model described in the module docstring."""
    from exspy.material import mass_absorption_coefficient as mac
    from scipy.special import ndtr

    from sigma.identify import physics
    from sigma.xray import fwhm

    e0 = float(beam_energy)
    z = {el: physics.element_data(el)[0] for el in comp}
    a = {el: physics.element_data(el)[1] for el in comp}
    zbar = sum(c * z[el] for el, c in comp.items())
    abar_over_zbar = sum(c * a[el] for el, c in comp.items()) / zbar

    def mu_mix(energy):
        energy = np.atleast_1d(energy)
        out = np.zeros_like(energy)
        for el, c in comp.items():
            if el != "H":
                try:
                    out += c * np.asarray(mac(el, energy))
                except AttributeError:
                    pass
        return out

    csc = 1.0 / math.sin(math.radians(takeoff_deg))

    def heinrich(energy, ec):
        gamma = e0**1.65 - np.minimum(ec, 0.95 * e0) ** 1.65
        chi = mu_mix(energy) * csc
        return 1.0 / (1.0 + 1.2e-6 * gamma * chi) ** 2

    def window(energy):
        energy = np.atleast_1d(energy)
        t = np.zeros_like(energy)
        ok = energy > 0.05
        t[ok] = np.exp(-np.asarray(mac("C", energy[ok])) * 1.0 * 0.15e-4 - np.asarray(mac("Al", energy[ok])) * 2.7 * 25e-7)
        return t

    edges = np.r_[axis - (axis[1] - axis[0]) / 2, axis[-1] + (axis[1] - axis[0]) / 2]
    spec = np.zeros(axis.size)
    for el, c in comp.items():
        for fam, lines in physics.families(el).items():
            ec = physics.family_edge(el, fam)
            u0 = e0 / ec
            if u0 <= 1.0:
                continue
            omega = {"K": _hubbell_omega_k(z[el]), "L": z[el] ** 4 / (z[el] ** 4 + 8e7),
                     "M": z[el] ** 4 / (z[el] ** 4 + 1e9)}[fam]
            gen = c / a[el] * omega * abar_over_zbar * (u0 * math.log(u0) - u0 + 1) * 10.0
            w = np.array([v[1] for v in lines.values()])
            en = np.array([v[0] for v in lines.values()])
            area = gen * w / w.sum() * heinrich(en, ec) * window(en)
            sd = fwhm(en, 130.0) / 2.3548
            spec += (area[:, None] * np.diff(ndtr((edges[None, :] - en[:, None]) / sd[:, None]), axis=1)).sum(0)
    inside = (axis > 0.05) & (axis < e0)
    cont = np.zeros(axis.size)
    cont[inside] = 2.0e-4 * zbar * (e0 - axis[inside]) / axis[inside]
    cont[inside] *= heinrich(axis[inside], axis[inside]) * window(axis[inside]) * (axis[1] - axis[0])
    spec += cont
    return spec / spec.sum()


def independent(energies, n_maps, seed, out, dump=None):
    from sigma.identify import default_library, identify_spectra, identify_spectrum
    from sigma.synthetic import energy_axis

    lib = default_library()
    rng = np.random.default_rng(seed + 1)
    axis = energy_axis(2048, 0.01, -0.47)
    rows = []
    for e0 in energies:
        for m in range(n_maps):
            names = _draw_phases(lib, rng, e0)
            totals = np.exp(rng.uniform(np.log(5e3), np.log(1e5), N_PHASES))
            x = np.stack([rng.poisson(t * textbook_spectrum(lib[n].composition, axis, e0))
                          for n, t in zip(names, totals, strict=True)])  # fmt: skip
            t = time.perf_counter()
            res = identify_spectra(x, axis, beam_energy=e0, library=lib)
            dt = (time.perf_counter() - t) / N_PHASES
            if dump is not None:
                dump["independent"].append({"beam_kv": e0, "map": m, "names": names, "x": x})
            for n, r, tot in zip(names, res, totals, strict=True):
                tp, fp, fn = _element_scores(r, lib[n].composition, e0)
                # the same spectrum without its phase (and polymorphs) in the library
                sub = lib.restrict(exclude=[p.name for p in lib.same_composition(lib[n])])
                left = identify_spectrum(None, None, beam_energy=e0, library=sub, elements=r.elements)
                rows.append({"beam_kv": e0, "map": m, "truth": n, "counts": float(tot), "named": r.name,
                             "status": r.status, "correct": _correct(r, n),
                             "correct_group": _correct_group(r, n), "group": list(r.group),
                             "left_out_indistinguishable": _indistinguishable_left_out(r, left, n),
                             "in_alternatives": n in " | ".join(r.alternatives),
                             "truth_rank_gap": _truth_gap(r, n), "tp": tp, "fp": fp,
                             "fn": fn, "found": r.elements.summary(), "t_identify_s": dt,
                             "left_out_status": left.status, "left_out_named": left.name})
            print(f"  {e0:g} kV map {m}: " + "; ".join(
                f"{r['truth']}→{r['named'].split(' ')[0]}{'' if r['correct'] else ' ≈' if r['correct_group'] else ' ✗'}"
                for r in rows[-N_PHASES:]), flush=True)  # fmt: skip
    summ = _summary(rows)
    summ["left_out_unknown"] = _rate(r["left_out_status"] == "unknown" for r in rows)
    summ["left_out_unknown_or_indistinguishable"] = _rate(
        r["left_out_status"] == "unknown" or r["left_out_indistinguishable"] for r in rows)
    out["independent"] = {"summary": summ,
                          "by_energy": {str(e): _summary([r for r in rows if r["beam_kv"] == e]) for e in energies},
                          "rows": rows}
    _print_summary("independent forward model", summ)
    print(f"independent, phase left out of the library: {summ['left_out_unknown']:.3f} reported unknown, "
          f"{summ['left_out_unknown_or_indistinguishable']:.3f} unknown or an indistinguishable phase")


# ----------------------------------------------------------------------------- physics
def physics_offsets(beam_energy, out):
    """Log ratio of the generator's peak-to-background to :mod:`sigma.identify.physics`' for
    every line family of every library phase, centred per phase (only ratios within a phase
    matter for naming); mean and spread per family."""
    from sigma.identify import default_library
    from sigma.identify import physics as P
    from sigma.synthetic.spectra import line_intensities, mean_atomic_number

    e0 = float(beam_energy)
    rows: dict = {}
    for ph in default_library():
        try:
            li = line_intensities(ph.composition, beam_energy=e0)
        except Exception:  # noqa: BLE001 - the generator refuses elements without lines (Li)
            continue
        zbar = mean_atomic_number(ph.composition)
        vals = {}
        for (el, fam), r in P.peak_to_background(ph.composition, e0, "SEM", energy_range=(0.2, e0)).items():
            ea = P.families(el)[fam][P.alpha_line(el, fam)][0]
            g = sum(v for k, v in li.items() if k.startswith(f"{el}_{fam}"))
            if g > 0:
                vals[f"{el} {fam}"] = math.log(g / (zbar * (e0 - ea) / ea) / r)
        if vals:
            ref = float(np.mean(list(vals.values())))
            for k, v in vals.items():
                rows.setdefault(k, []).append(v - ref)
    table = {k: {"mean": float(np.mean(v)), "sd": float(np.std(v)), "n": len(v)} for k, v in rows.items()}
    out["physics_offsets"] = {"beam_kv": e0, "families": table}
    big = sorted(table.items(), key=lambda kv: -abs(kv[1]["mean"]))
    print(f"generator / identification physics, ln(P/B ratio) at {e0:g} kV, largest offsets:")
    for k, v in big[:14]:
        print(f"  {k:6s} {v['mean']:+.2f} ± {v['sd']:.2f}  (n={v['n']})")


# ----------------------------------------------------------------------------- speed
SPEED_PHASES = ("quartz", "albite", "orthoclase", "anorthite", "biotite", "augite", "ilmenite",
                "magnetite", "fluorapatite", "calcite")  # fmt: skip


def _clear_caches():
    """Forget every cached column and prediction: the next identification starts cold."""
    from sigma.identify import fitting, match, physics

    fitting._SHARED.clear()
    for f in (match._predicted, match._trace_pb, match._detectable, physics.family_edge):
        f.cache_clear()


def _time_naming(x, energy, beam_energy, lib, repeats=2):
    """Seconds of identify_clusters on (K, C) summed spectra: cold (caches cleared) and warm
    (a new map with the same axis and beam energy: columns and predictions cached)."""
    from sigma.identify import identify_clusters

    _clear_caches()
    t = time.perf_counter()
    res = identify_clusters(x, list(range(len(x))), energy, beam_energy=beam_energy, library=lib)
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeats):
        t = time.perf_counter()
        identify_clusters(x, list(range(len(x))), energy, beam_energy=beam_energy, library=lib)
        warm.append(time.perf_counter() - t)
    return cold, min(warm), res


def speed(out):
    """Seconds to name a 10-phase map: a phantom (cluster = phase) and the real P45 map's
    clusters (from the default ``sigma run``, whose identify-stage time is also reported)."""
    import tempfile

    from sigma.identify import default_library
    from sigma.io.emsa import read_emsa
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.runner import run_batch
    from sigma.synthetic import make_phantom

    lib = default_library()
    res = {}
    ph = make_phantom((64, 64), phases={n: lib[n].composition for n in SPEED_PHASES}, counts_per_pixel=100, seed=3)
    lab = ph.labels.ravel()
    cube = ph.spectra.reshape(-1, ph.spectra.shape[-1]).astype(np.float64)
    x = np.stack([cube[lab == k].sum(0) for k in range(len(SPEED_PHASES))])
    cold, warm, r = _time_naming(x, ph.energy_axis, 20.0, lib)
    res["phantom_10"] = {"cold_s": cold, "warm_s": warm, "names": [v.name for v in r.results.values()],
                         "correct": sum(v.best is not None and v.best.phase.name == n or n in (v.best.same_composition if v.best else [])
                                        for v, n in zip(r.results.values(), SPEED_PHASES, strict=True))}
    print(f"  phantom, 10 phases: {cold:.2f} s cold, {warm:.2f} s warm; "
          f"{res['phantom_10']['correct']}/10 named right")
    data = Path(os.environ.get("SIGMA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = data / "real" / "bcf" / "P45_12bit_packed_8bit.bcf"
    if path.exists():
        cfg = validate_config({"report": {"enabled": False}, "masks": {"export": False}})
        with tempfile.TemporaryDirectory() as tmp:
            _clear_caches()
            r = run_batch([path], cfg, Path(tmp) / "out", progress=False)[0]
            rec = json.loads((r.out_dir / "run.json").read_text())
            files = sorted((r.out_dir / "spectra").glob("cluster_*.msa"))
            spec = [read_emsa(f) for f in files]
        x = np.stack([d["counts"] for d in spec])
        cold, warm, _ = _time_naming(x, spec[0]["energy"], 20.0, lib)
        t = rec.get("timings_s", {})
        res["p45"] = {"clusters": len(x), "run_identify_stage_s": t.get("identify"),
                      "run_total_s": sum(v for v in t.values() if isinstance(v, (int, float))),
                      "naming_cold_s": cold, "naming_warm_s": warm}
        print(f"  P45 ({len(x)} clusters): sigma run identify stage {t.get('identify'):.2f} s of "
              f"{res['p45']['run_total_s']:.1f} s; naming alone {cold:.2f} s cold, {warm:.2f} s warm")
    out["speed"] = res

# ----------------------------------------------------------------------------- real data
def real(out):
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.runner import run_batch

    data = Path(os.environ.get("SIGMA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "real" / "bcf"
    files = {"Hitachi_TM3030Plus.bcf": "Cu standard on an Al disc (SOURCES.md)",
             "P45_12bit_packed_8bit.bcf": "dacite, Polish Sudetes (SOURCES.md)",
             "30x30_instructively_packed_16bit_compressed.bcf": "undocumented; header REE + silicate elements"}
    import tempfile

    res = {}
    cfg = validate_config({"report": {"enabled": False}, "masks": {"export": False}})
    with tempfile.TemporaryDirectory() as tmp:
        for name, what in files.items():
            path = data / name
            if not path.exists():
                print(f"  {name}: not found under {data}")
                continue
            t = time.perf_counter()
            r = run_batch([path], cfg, Path(tmp) / "out", progress=False)[0]
            rec = json.loads((r.out_dir / "run.json").read_text()) if r.ok else {}
            results = rec.get("results", {})
            names = results.get("names", {})
            props = results.get("proportions", {})
            res[name] = {"what": what, "ok": r.ok, "error": r.error, "seconds": time.perf_counter() - t,
                         "identify_s": rec.get("timings_s", {}).get("identify"),
                         "clusters": {k: {"name": v, "fraction": props.get(k)} for k, v in names.items()}}
            print(f"  {name} ({what}):")
            for k, v in sorted(names.items(), key=lambda kv: -(props.get(kv[0]) or 0)):
                print(f"     {k:>3} {100 * (props.get(k) or 0):5.1f} %  {v}")
    out["real"] = res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", default=["speed", "physics", "phantom", "unknown", "independent", "real"],
                    choices=["speed", "physics", "phantom", "unknown", "independent", "real"])
    ap.add_argument("--energies", nargs="+", type=float, default=[10.0, 15.0, 20.0])
    ap.add_argument("--counts", nargs="+", type=float, default=[10.0, 100.0])
    ap.add_argument("--maps", type=int, default=3, help="maps per (energy, counts) setting")
    ap.add_argument("--shape", nargs=2, type=int, default=[96, 128])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=None)
    ap.add_argument("--dump", default=None,
                    help="also save the cluster spectra (and the independent model's) to this .json, to "
                         "study the naming without clustering again")
    args = ap.parse_args(argv)
    os.environ.setdefault("SIGMA_PROGRESS", "0")
    warnings.filterwarnings("ignore")
    out = {"args": vars(args), "python": sys.version.split()[0], "started": time.strftime("%Y-%m-%d %H:%M")}
    if "speed" in args.parts:
        speed(out)
    if "physics" in args.parts:
        physics_offsets(20.0, out)
    dump = {"phantom": [], "independent": []} if args.dump else None
    if "phantom" in args.parts or "unknown" in args.parts:
        phantom(args.energies, args.counts, args.maps, tuple(args.shape), args.seed, out, dump)
    if "independent" in args.parts:
        independent(args.energies, max(args.maps * 2, 1), args.seed, out, dump)
    if dump is not None:  # JSON, not pickle: reading it back runs no code
        Path(args.dump).write_text(json.dumps(dump, default=lambda v: v.tolist() if hasattr(v, "tolist") else float(v)))
    if "real" in args.parts:
        real(out)
    path = Path(args.out) if args.out else Path(__file__).with_name("results") / f"bench_identify_{time.strftime('%Y-%m-%d')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=float))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
