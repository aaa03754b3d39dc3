"""The evidence behind an automatic number of phases, as a figure."""

from __future__ import annotations

import numpy as np

from ..clustering._split import PIECE_MIN_Z, RESIDUAL_MIN_Z
from ._figure import _ax_or_new

__all__ = ["DECISIONS_NOTE", "decision_rows", "evidence_explanation", "plot_phase_evidence"]


def plot_phase_evidence(evidence, ax=None):
    """BIC along the merge path of ``n_components='auto'``, with the choices marked.

    Parameters
    ----------
    evidence : PhaseEvidence or dict
        ``PixelSegmenter.n_components_evidence`` (or its ``to_dict()``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> ev = {"bic_path": {"k": [1, 2, 3, 4], "bic": [50.0, 8.0, 0.0, 3.0]}, "k_bic": 3,
    ...       "n_components": 2, "decisions": [{"step": "mixture"}]}
    >>> ax = plot_phase_evidence(ev)
    >>> ax.get_xlabel()
    'spectra in the count model (merge path)'
    """
    d = evidence.to_dict() if hasattr(evidence, "to_dict") else dict(evidence)
    k = np.asarray(d["bic_path"]["k"], dtype=int)
    bic = np.asarray(d["bic_path"]["bic"], dtype=float)
    rel = bic - bic.min()
    ax = _ax_or_new(ax, (6, 3.4))
    ax.plot(k, rel, "o-", color="#1f3a5f", ms=4, lw=1)
    ax.set_yscale("symlog", linthresh=max(1.0, float(np.median(np.diff(np.sort(rel))) if rel.size > 2 else 1.0)))
    kb, kf = int(d["k_bic"]), int(d["n_components"])
    ax.axvline(kb, color="#888", ls="--", lw=1, label=f"BIC minimum: {kb} spectra")
    steps = [s.get("step") for s in d.get("decisions", [])]
    hollow = steps.count("no interior")  # so that the drops add up from the BIC's choice
    ax.axvline(kf, color="#c0392b", lw=1.5,
               label=f"phases: {kf} ({steps.count('mixture')} mixtures"
                     + (f" and {hollow} without interior" if hollow else "")
                     + f" dropped, {steps.count('new phase')} new"
                     + (f", {steps.count('split')} split off" if "split" in steps else "") + ")")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # numbers of spectra
    ax.set_xlabel("spectra in the count model (merge path)")
    ax.set_ylabel("BIC − min (symlog)")
    ax.set_title("Number of phases from the counts")
    ax.legend(fontsize=8, frameon=False)
    return ax


#: What the statistics of the decisions mean (shown under the table in the report and the GUI).
DECISIONS_NOTE = (
    "rho: deviance of the summed counts from the best mixture of the neighbouring phases over "
    "their deviance from the nearest single phase (a mixture below 0.25); interior: share of "
    "pixels whose 8 neighbours share their label; G: deviance of a new phase's counts from every "
    "known phase and mixture, against the chi-square critical value; G_pixels: how much better "
    "the component's own spectrum explains its pixels than a mixture of its neighbours chosen "
    "for each pixel (below the critical value: a mixture). A split's G compares the held-out "
    "half of the counts of its pixels with the rest of the phase it left; z, z_piece: when that G "
    "is weak or the counts look like a mixture, the residual of the held-out half of its interior "
    "beyond every mixture of the rest and its neighbours, along the direction the other half "
    "shows, in standard errors of the whole and of one of its particles or grains (kept above "
    f"{RESIDUAL_MIN_Z:g} and {PIECE_MIN_Z:g}); seed: what proposed it "
    "(a start cluster when absent, 'pieces': whole particles or grains of one label, 'smoothed': "
    "one label's pixels split by their neighbourhoods' mean spectra, tested by z alone against "
    "every phase, 'depth': the centres of one label's particles or grains apart from their rims "
    "(a core in a shell of a look-alike), tested as 'smoothed', 'label': two spectra fitted to "
    "one label's pixels; for a new phase, 'windows': "
    "pixels whose 3×3 window's summed counts their phase does not explain, a faint particle). "
    "On a thin (TEM) map, 'on film' and 'enclosed' set who takes a boundary pixel: min_share is "
    "the least share of its counts the particle (or the core) needs against the film (or the "
    "phase round it, with which it shares 'contact' of its boundary); elsewhere one half."
)

_OUTCOME = {
    "mixture": "dropped: its counts are a mixture of its neighbours (boundary pixels)",
    "new phase": "opened: counts no phase or mixture explains",
    "no interior": "dropped: no pixel inside it (only boundaries)",
    "thin phase": "kept: no pixel inside it, but its counts are no mixture (a shell, a rim)",
    "split": "opened: split off the phase it was joined to (chosen on half of the counts, tested "
             "on the other half)",
    "on film": "boundary rule: a particle takes a pixel from the support film (these are the film's "
               "pixels) when it gives min_share of the pixel's counts: the film lies under the "
               "particle's thin edge",
    "enclosed": "boundary rule: a phase seen through the one round it (a core in its shell) takes a "
                "pixel from it when it gives min_share of the pixel's counts",
}


def decision_rows(evidence) -> list[dict]:
    """One row per decision after the BIC's choice, in order: ``{'#', 'decision', 'outcome',
    'pixels', 'statistics'}`` (plain text), for the tables of the report and the GUI.

    Examples
    --------
    >>> ev = {"decisions": [{"step": "mixture", "pixels": 40, "rho": 0.08, "interior": 0.1, "neighbours": 2}]}
    >>> decision_rows(ev)[0]["statistics"]
    'rho = 0.08, interior = 0.1, neighbours = 2'
    """
    d = evidence.to_dict() if hasattr(evidence, "to_dict") else dict(evidence)
    rows = []
    for i, dec in enumerate(d.get("decisions", []), 1):
        step = str(dec.get("step", ""))
        stats = ", ".join(f"{k} = {v}" for k, v in dec.items() if k not in ("step", "pixels"))
        rows.append({"#": i, "decision": step, "outcome": _OUTCOME.get(step, ""),
                     "pixels": dec.get("pixels", ""), "statistics": stats})
    return rows


def evidence_explanation(evidence) -> str:
    """How the number of phases was decided, in words (plain text, for the report and the GUI).

    Examples
    --------
    >>> ev = {"n_start": 20, "k_bic": 6, "n_components": 4, "penalty_per_spectrum": 350.0,
    ...       "n_bands": 64, "n_fit_pixels": 1024}
    >>> evidence_explanation(ev)[:60]
    'The number of phases was decided from the X-ray counts (n_co'
    """
    d = evidence.to_dict() if hasattr(evidence, "to_dict") else dict(evidence)
    return (
        "The number of phases was decided from the X-ray counts (n_components = \"auto\"): the "
        f"clusterer over-segmented the latent space into {d['n_start']} clusters, whose counts were "
        f"merged pair by pair; the BIC (penalty {d['penalty_per_spectrum']:.0f} per spectrum, "
        f"{d['n_bands']} energy bands, {d['n_fit_pixels']} pixels) chose {d['k_bic']} spectra. "
        "Components made of boundary pixels (no interior, counts explained by a mixture of their "
        "neighbours) were then dropped, groups of pixels that no phase explains were tested as "
        "new phases, phases the merge path joined were tested for a split (on half of the "
        "counts, chosen on the other half), and the phases so opened were tested again for a "
        f"mixture: {d['n_components']} phases in the end." + _thin_rules(d.get("decisions", []))
    )


def _thin_rules(decisions) -> str:
    """The thin-sample boundary rules that were applied, in words ('' when none).

    Examples
    --------
    >>> print(_thin_rules([{"step": "on film", "pixels": 900, "min_share": 0.4}]).strip())
    In the final labels, a particle took a boundary pixel from the support film when it gave at least 40% of the pixel's counts (the film lies under its thin edge).
    """
    film = [x for x in decisions if x.get("step") == "on film"]
    cores = [x for x in decisions if x.get("step") == "enclosed"]
    parts = []
    if film:
        parts.append("a particle took a boundary pixel from the support film when it gave at least "
                     f"{film[0]['min_share']:.0%} of the pixel's counts (the film lies under its thin edge)")
    if cores:
        pairs = f"{len(cores)} pair{'s' if len(cores) > 1 else ''}: a phase seen through the one round it"
        parts.append(("a core from its shell" if film else "a core took a boundary pixel from its shell")
                     + f" ({pairs}) when it gave at least {cores[0]['min_share']:.0%}"
                     + ("" if film else " of the pixel's counts"))
    return (" In the final labels, " + ", and ".join(parts) + ".") if parts else ""
