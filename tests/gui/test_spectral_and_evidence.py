"""GUI parts of issue 10 (no browser): the whole-spectrum tab of ``view_dataset`` and the
number-of-phases evidence (``view_phase_evidence`` and the phase map's note), following edits."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sigma.datasets import SEMDataset
from sigma.gui import gui
from sigma.synthetic import make_phantom, tiny_segmenter
from sigma.utils import normalisation as norm

SCREE = ("component", "explained variance (%)")
LOADINGS = ("energy (keV)", "loading (Poisson-scaled)")


@pytest.fixture
def sem():
    ph = make_phantom((16, 20), counts_per_pixel=200, n_channels=400, energy_scale=0.0237, energy_offset=-0.171,
                      seed=5)
    return SEMDataset(ph.to_signal())


# ----------------------------------------------------------------------------- processed-maps title
def test_processed_maps_tab_says_what_was_done(sem):
    assert gui.view_dataset(sem).tabs.titles == (
        "Navigation Signal", "Sum Spectrum", "Elemental Maps (raw)", "Whole spectrum (PCA)")
    sem.peak_intensity_normalisation()  # normalised, not binned: the tab must not say "binned"
    titles = gui.view_dataset(sem).tabs.titles
    assert "Elemental maps (normalised spectra)" in titles and not any("binned" in t for t in titles)
    sem.rebin_signal((2, 2))
    assert "Elemental maps (binned 2×2, normalised spectra)" in gui.view_dataset(sem).tabs.titles


# ----------------------------------------------------------------------------- whole-spectrum tab
def test_whole_spectrum_tab_computes_when_opened_and_shows_labelled_figures(sem):
    sem.rebin_signal((2, 2))
    w = gui.view_dataset(sem)
    tab = w.spectral
    assert tab.decomposition is None and tab.summary_image is None  # nothing read before it is opened
    w.tabs.selected_index = w.tabs.titles.index("Whole spectrum (PCA)")
    assert w.last_error is None, w.status.value
    d = tab.decomposition
    assert d is sem.spectral_decomposition(n_components=8)  # the dataset's kept result, not a GUI copy
    assert d.scores.shape == (8, 10, 8)
    r = 100 * d.explained_variance_ratio
    assert f"PC1 {r[0]:.1f} %" in w.status.value and f"explain {r.sum():.1f} %" in w.status.value
    summary = tab.summary_image.annotations
    assert summary["axis_labels"] == [SCREE, LOADINGS]
    assert summary["legends"][1] == ["PC1", "PC2", "PC3", "PC4"]
    maps = tab.maps_image.annotations
    assert maps["colorbar_labels"] == ["score (Poisson-scaled counts)"] * 8
    assert len(maps["scale_bars"]) == 8  # the file's calibration, like the other maps
    assert tab.maps_image.value[:4] == b"\x89PNG" and tab.maps_image in tab.children
    assert "Pixel" in tab.caption.value and "binned 2×2" in tab.caption.value
    assert 'normalised_features("both", n_components=8)' in tab.info.value
    # fewer components: recomputed, three maps
    tab.n_components.value = 3
    assert tab.decomposition.n_components == 3
    assert tab.maps_image.annotations["colorbar_labels"] == ["score (Poisson-scaled counts)"] * 3
    # a feature edit redraws the tabs and keeps the computed decomposition on show
    w.features.value = "Fe_Ka, Si_Ka"
    w.buttons["Set"].click()
    assert w.tabs.titles[-1] == "Whole spectrum (PCA)" and w.tabs.children[-1] is tab
    assert tab.decomposition.n_components == 3


def test_the_scores_the_tab_shows_are_the_features_the_notebook_uses(sem):
    sem.rebin_signal((2, 2))
    sem.normalisation([norm.zscore])
    w = gui.view_dataset(sem)
    w.spectral.n_components.value = 4
    w.spectral.compute_button.click()
    both = sem.normalised_features("both", n_components=4)
    scores = w.spectral.decomposition.scores
    z = (scores - scores.mean((0, 1))) / scores.std((0, 1))
    np.testing.assert_allclose(both[..., -4:], z, rtol=1e-4, atol=1e-4)
    assert sem.normalised_feature_names("both", 4)[-4:] == w.spectral.decomposition.names


# ----------------------------------------------------------------------------- phase evidence
@pytest.fixture(scope="module")
def auto_ps():
    """A real ``n_components='auto'`` fit: four minerals on a 32×32 binned grid."""
    from sigma.clustering import PixelSegmenter
    from sigma.synthetic.family import make_grain_phantom

    ph = make_grain_phantom((64, 64), n_phases=4, counts_per_pixel=60, seed=3, inclusions=0, n_channels=1024,
                            energy_scale=0.02, energy_offset=-0.2)
    ds = SEMDataset(ph.to_signal())
    ds.rebin_signal((2, 2))
    ds.peak_intensity_normalisation()
    ds.remove_first_peak(0.1)
    x = ds.normalisation([norm.neighbour_averaging, norm.zscore])
    ps = PixelSegmenter(x.reshape(-1, x.shape[-1]), ds, "GaussianMixture", {"n_components": "auto", "random_state": 0})
    assert ps.n_components_evidence is not None
    return ps


def test_view_phase_evidence_shows_the_bic_curve_and_every_decision(auto_ps):
    ps = auto_ps.copy()
    assert ps.n_components_evidence is auto_ps.n_components_evidence  # a copy keeps the evidence
    ev = ps.n_components_evidence
    w = gui.view_phase_evidence(ps)
    assert w.last_error is None
    assert w.image.value[:4] == b"\x89PNG"
    ann = w.image.annotations
    assert ann["axis_labels"] == [("spectra in the count model (merge path)", "BIC − min (symlog)")]
    assert f"BIC minimum: {ev.k_bic} spectra" in ann["legends"][0]
    assert ann["legends"][0][1].startswith(f"phases: {ev.n_components} ")
    # one table row per decision, in order, with its statistics
    assert len(ev.decisions) >= 1
    assert [(r["decision"], r["pixels"]) for r in w.rows] == [(d["step"], d.get("pixels", "")) for d in ev.decisions]
    assert w.table.value.count("<tr class='sigma-evidence-row'>") == len(ev.decisions)
    for d, r in zip(ev.decisions, w.rows, strict=True):
        for k, v in d.items():
            if k not in ("step", "pixels"):
                assert f"{k} = {v}" in r["statistics"]
    assert f"over-segmented the latent space into {ev.n_start} clusters" in w.table.value
    assert w.status.value.startswith(f"{ev.n_components} phases: BIC chose {ev.k_bic} spectra")
    assert "shown unchanged" in w.state.value


def test_evidence_belongs_to_the_fit_edits_since_are_counted(auto_ps):
    ps = auto_ps.copy()
    assert ps.n_components_evidence is auto_ps.n_components_evidence  # a copy keeps the evidence
    k = ps.n_components_evidence.n_components
    w = gui.view_phase_evidence(ps)
    pm = gui.view_phase_map(ps)
    assert pm.evidence_note.layout.display == "flex"
    assert f'decided from the counts (n_components="auto"): {k} ' in pm.evidence_note.value
    ps.recolour([0], "#123456")  # not an edit of the clusters
    assert "shown unchanged" in w.state.value
    ps.merge_clusters([0, 1])
    assert "1 edit since (merge_clusters)" in w.state.value
    assert f"now has {k - 1} clusters where the fit found {k} phases" in w.state.value
    assert "sigma-warning" in w.status._dom_classes
    assert "1 edit since (merge_clusters)" in pm.evidence_note.value
    ps.create_cluster(np.arange(5))
    assert re.search(r"2 edits since \(merge_clusters, create_cluster\)", w.state.value)
    ps.reset()
    assert "back to those of the fit" in w.state.value
    assert "sigma-warning" not in w.status._dom_classes


def test_without_evidence_the_views_say_so():
    _, ps = tiny_segmenter()
    w = gui.view_phase_evidence(ps)
    assert w.image is None and w.rows == []
    assert "fixed number of clusters (3)" in w.status.value and 'n_components="auto"' in w.status.value
    assert gui.view_phase_map(ps).evidence_note.layout.display == "none"


def test_every_step_of_the_decisions_has_an_outcome_in_words():
    from sigma.plot.evidence import DECISIONS_NOTE, decision_rows

    steps = ["mixture", "new phase", "split", "no interior", "thin phase"]
    rows = decision_rows({"decisions": [{"step": s, "pixels": 10, "seed": "pieces"} for s in steps]})
    assert [r["decision"] for r in rows] == steps
    assert all(r["outcome"] for r in rows)
    assert rows[2]["outcome"].startswith("opened: split off") and "seed = pieces" in rows[2]["statistics"]
    assert "'pieces'" in DECISIONS_NOTE


def test_the_evidence_legend_counts_add_up_from_the_bic_choice_to_the_phases():
    """9 spectra, 6 mixtures and 2 labels without interior dropped, 2 splits: 3 phases."""
    import matplotlib

    matplotlib.use("Agg")
    from sigma.plot.evidence import plot_phase_evidence

    steps = ["mixture"] * 6 + ["split", "split", "no interior", "no interior"]
    ev = {"bic_path": {"k": [1, 2, 3, 9, 10], "bic": [5.0, 4.0, 3.0, 0.0, 1.0], "loglik": [0.0] * 5},
          "k_bic": 9, "n_components": 3, "decisions": [{"step": s, "pixels": 10} for s in steps]}
    ax = plot_phase_evidence(ev)
    label = [t.get_text() for t in ax.get_legend().get_texts()][1]
    assert label == "phases: 3 (6 mixtures and 2 without interior dropped, 0 new, 2 split off)"
