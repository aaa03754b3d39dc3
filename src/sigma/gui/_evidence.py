"""The evidence behind an automatic number of phases (``n_components="auto"``), as a widget.

:func:`sigma.gui.gui.view_phase_evidence` shows the BIC along the merge path
(:func:`sigma.plot.plot_phase_evidence`), what was decided after the BIC's choice (mixtures
dropped, new phases opened, with their statistics) as an HTML table, and whether the segmenter
still holds the clusters of that fit: the evidence belongs to the automatic fit, so after an
edit (merge, create...) the view says how many edits were made since. The phase map says the
same in one line (:func:`evidence_state`).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from .. import plot
from ..plot.evidence import DECISIONS_NOTE, decision_rows, evidence_explanation
from ._base import Panel, changes_text, png_widget
from ._dataset import remember_segmenter

_COLUMNS = ("#", "decision", "outcome", "pixels", "statistics")


def evidence_state(ps) -> tuple[str, bool]:
    """``(text, changed)``: whether the clusters of ``ps`` are still those of its automatic fit.

    ``changed`` is True when edits since the fit changed the labels (the evidence then no
    longer describes the clusters shown). Recolouring is not an edit of the clusters.

    Examples
    --------
    >>> from sigma.synthetic import tiny_segmenter
    >>> _, ps = tiny_segmenter()
    >>> evidence_state(ps)[1]
    False
    >>> ps.merge_clusters([0, 1])
    >>> text, changed = evidence_state(ps)
    >>> changed, text[:54]
    (True, 'Evidence of the automatic fit; 1 edit since (merge_clu')
    """
    edits = [op for op, _ in ps.edit_history if op != "recolour"]
    same = np.array_equal(np.asarray(ps.labels), np.asarray(ps.labels_original))
    ev = getattr(ps, "n_components_evidence", None)
    fitted = f"{ev.n_components} phases" if ev is not None else "its clusters"
    if not edits:
        return f"Evidence of the automatic fit ({fitted}), whose clusters are shown unchanged.", False
    n = f"{len(edits)} edit{'s' if len(edits) != 1 else ''} since ({', '.join(dict.fromkeys(edits))})"
    if same:
        return f"Evidence of the automatic fit ({fitted}); {n}, but the clusters are back to those of the fit.", False
    return (f"Evidence of the automatic fit; {n}: the segmenter now has {ps.n_clusters} clusters where the fit "
            f"found {fitted}, so the evidence no longer describes the clusters shown.", True)


def decisions_table_html(rows) -> str:
    """The decisions as an HTML table (class ``sigma-evidence-table``, one ``<tr>`` per row)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
    body = "".join(
        "<tr class='sigma-evidence-row'>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in _COLUMNS) + "</tr>"
        for r in rows
    )
    return (f"<table class='sigma-evidence-table' style='border-collapse:collapse;font-size:12px'>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


class PhaseEvidenceView(Panel):
    """Widget of :func:`sigma.gui.gui.view_phase_evidence`.

    Attributes
    ----------
    evidence : PhaseEvidence or None
        ``ps.n_components_evidence``.
    image : ipywidgets.Image or None
        The BIC curve (class ``sigma-evidence-figure``).
    rows : list of dict
        The decisions table's rows (:func:`sigma.plot.evidence.decision_rows`).
    table : ipywidgets.HTML
        Explanation, decisions table and what its statistics mean (``sigma-evidence-table``).
    state : ipywidgets.HTML
        Whether the clusters are still those of the automatic fit (``sigma-evidence-state``);
        updated after every edit of the segmenter.
    """

    def __init__(self, ps):
        super().__init__()
        remember_segmenter(ps)
        self.add_class("sigma-phase-evidence")
        self.ps = ps
        self.evidence = getattr(ps, "n_components_evidence", None)
        self.state = widgets.HTML()
        self.state.add_class("sigma-evidence-state")
        self.table = widgets.HTML()
        self.table.add_class("sigma-lines")  # the compact table style
        self.image = None
        self.rows: list[dict] = []
        if self.evidence is None:
            self.set_body(self.table)
            self.say(f"No evidence to show: this segmenter was fitted with a fixed number of clusters "
                     f"({ps.n_clusters}); fit with n_components=\"auto\" to let the counts decide.")
            return
        fig = plot.new_figure((7, 3.4), layout="constrained")
        plot.plot_phase_evidence(self.evidence, ax=fig.add_subplot())
        self.image = png_widget(fig, "sigma-evidence-figure")
        self.rows = decision_rows(self.evidence)
        parts = [f"<p>{html.escape(evidence_explanation(self.evidence))}</p>"]
        if self.rows:
            parts += ["<b>Decisions after the BIC's choice</b>", decisions_table_html(self.rows),
                      f"<p style='color:#555'>{html.escape(DECISIONS_NOTE)}</p>"]
        else:
            parts.append(f"<p><i>No decision after the BIC's choice: its {self.evidence.k_bic} spectra are "
                         "the phases.</i></p>")
        self.table.value = "".join(parts)
        self.follow(ps, self._on_change, kinds=("labels",))
        self.set_body(self.state, self.image, self.table)
        self.run("phase evidence", self._update)

    def _update(self):
        text, changed = evidence_state(self.ps)
        color = "#6b4200" if changed else "#444"
        self.state.value = f"<span style='color:{color}'>{html.escape(text)}</span>"
        ev = self.evidence
        steps = [d.get("step") for d in ev.decisions]
        hollow = steps.count("no interior")  # counted so that the drops add up to the phases
        head = (f"{ev.n_components} phases: BIC chose {ev.k_bic} spectra of {ev.n_start} clusters; "
                f"{steps.count('mixture')} mixtures" + (f" and {hollow} without interior" if hollow else "")
                + f" dropped, {steps.count('new phase')} new phases")
        return Warning(f"{head}. {text}") if changed else f"{head}."

    def _on_change(self, changes):
        msg = self._update()
        note = f"Updated after {changes_text(changes)}"
        return Warning(f"{note}: {msg}") if isinstance(msg, Warning) else f"{note}: {msg}"
