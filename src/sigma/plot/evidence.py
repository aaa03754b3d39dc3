"""The evidence behind an automatic number of phases, as a figure."""

from __future__ import annotations

import numpy as np

from ._figure import _ax_or_new

__all__ = ["plot_phase_evidence"]


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
    ax.axvline(kf, color="#c0392b", lw=1.5,
               label=f"phases: {kf} ({steps.count('mixture')} mixtures dropped, "
                     f"{steps.count('new phase')} new)")
    ax.set_xlabel("spectra in the count model (merge path)")
    ax.set_ylabel("BIC − min (symlog)")
    ax.set_title("Number of phases from the counts")
    ax.legend(fontsize=8, frameon=False)
    return ax
