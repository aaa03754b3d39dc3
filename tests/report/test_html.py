"""The report's figures (sigma.report.html)."""

from __future__ import annotations

import numpy as np


def test_the_phase_map_legend_fits_in_its_figure_with_long_mineral_names():
    """Identified clusters carry names such as 'microcline / orthoclase / sanidine KAlSi₃O₈'
    and an area; the legend sits beside the map, outside the layout, and its end was cut off
    ('(23.2 %' without its bracket on P45_the_default_job.bcf)."""
    from sigma.clustering import PixelSegmenter
    from sigma.datasets import SEMDataset
    from sigma.report.html import _phase_fig
    from sigma.synthetic import make_phantom

    ph = make_phantom((16, 20), counts_per_pixel=200, n_channels=400, energy_scale=0.025, energy_offset=-0.1, seed=2)
    sem = SEMDataset(ph.to_signal())
    sem.normalisation([])
    latent = np.random.default_rng(0).normal(size=(16 * 20, 2))
    ps = PixelSegmenter(latent, sem, "GaussianMixture", {"n_components": 4, "random_state": 0})
    names = ["anorthoclase Na₀.₇K₀.₃AlSi₃O₈ or 2 alike", "microcline / orthoclase / sanidine KAlSi₃O₈",
             "andesine Na₀.₆Ca₀.₄Al₁.₄Si₂.₆O₈ or 2 alike", "biotite KMg₁.₅Fe₁.₅(AlSi₃O₁₀)(OH)₂"]
    ps.cluster_names = {int(i): n for i, n in zip(ps.cluster_ids, names, strict=True)}
    fig = _phase_fig(ps, 0.5)
    fig.canvas.draw()
    legend = fig.axes[0].get_legend()
    assert any("microcline" in t.get_text() and t.get_text().endswith("%)") for t in legend.get_texts())
    assert legend.get_window_extent().x1 <= fig.bbox.x1
