"""``sigma run``'s second look: a minority phase's element missing from the sum-spectrum
proposal is added from its cluster's spectrum, and nothing is added where nothing is missing."""

from __future__ import annotations

import numpy as np
import pytest

from sigma.pipeline.config import validate_config
from sigma.pipeline.results import _dataset_record
from sigma.pipeline.second_look import cluster_dataset
from sigma.pipeline.stages import prepare_dataset
from sigma.synthetic.family import binned_truth, make_particle_phantom

RADII = {"gold": (4.0, 5.0), "titania": (5.0, 7.0)}


def _phantom(particles, seed=0):
    # a strong continuum (10x the generator's): two gold particles (~3 % of the pixels) make no
    # peak in the map's sum spectrum
    return make_particle_phantom((64, 64), counts_per_pixel=30, particles=particles, radii=RADII,
                                 film_counts=0.18, continuum=10.0, seed=seed)


def _anonymous(ph):
    s = ph.to_signal()
    del s.metadata.Sample  # a file that names no elements
    return s


def _run(signal, **features):
    cfg = validate_config({"preprocess": {"bin": [2, 2]}, "features": features})
    ds = prepare_dataset(signal, cfg)
    proposed = list(ds.feature_list)
    ps, review = cluster_dataset(ds, cfg)
    return ds, ps, review, proposed


@pytest.fixture(scope="module")
def gold():
    ph = _phantom({"titania": 3, "gold": 2})
    return ph, _run(_anonymous(ph))


def test_minority_element_missing_from_the_proposal_is_added(gold):
    ph, (ds, ps, review, proposed) = gold
    assert ds.lines_source == "sum spectrum"
    assert not any(x.startswith("Au_") for x in proposed)
    assert [a.element for a in review.added] == ["Au"]
    au = review.added[0]
    assert au.line in ds.feature_list and au.significance >= 5
    assert ds.normalised_elemental_data.shape[-1] == len(ds.feature_list)
    # every line of the final list belongs to an element of the phantom
    assert {x.split("_")[0] for x in ds.feature_list} <= set(ph.elements)
    rec = _dataset_record(ds)
    assert rec["lines_source"] == "sum spectrum"
    assert rec["lines_review"]["added"][0]["element"] == "Au"


def test_minority_phase_is_found(gold):
    from sklearn.metrics import adjusted_rand_score

    ph, (ds, ps, review, proposed) = gold
    truth = binned_truth(ph, 2)
    lab = np.asarray(ps.labels).reshape(truth.shape)
    assert len(ps.cluster_ids) == 3
    assert adjusted_rand_score(truth.ravel(), lab.ravel()) >= 0.85
    g = truth == ph.phase_names.index("gold")
    best = max(ps.cluster_ids, key=lambda c: (g & (lab == c)).sum())
    tp = (g & (lab == best)).sum()
    f1 = 2 * tp / (g.sum() + (lab == best).sum())
    assert f1 >= 0.75


def test_no_line_added_without_a_minority_element():
    ph = _phantom({"titania": 3}, seed=1)
    ds, ps, review, proposed = _run(_anonymous(ph))
    assert review is not None and review.added == []
    assert {x.split("_")[0] for x in ds.feature_list} <= set(ph.elements)


def test_lines_named_by_the_file_or_the_user_are_left_alone():
    ph = _phantom({"titania": 2, "gold": 1}, seed=2)
    ds, ps, review, proposed = _run(ph.to_signal())  # the phantom names its elements
    assert ds.lines_source == "file" and review is None
    ds, ps, review, proposed = _run(_anonymous(ph), lines=["O_Ka", "Ti_Ka", "Cu_Ka"])
    assert review is None and ds.feature_list == ["O_Ka", "Ti_Ka", "Cu_Ka"]
    ds, ps, review, proposed = _run(_anonymous(ph), second_look=False)
    assert review is None and ds.feature_list == proposed


def test_sigma_run_records_the_review(tmp_path, fast_cfg):
    """Through ``run_batch`` (the autoencoder latent, fitted twice into one folder): run.json says
    which line was added, from which cluster and how significant, and the report says it."""
    import json

    from sigma.pipeline.runner import run_batch

    path = tmp_path / "gold.hspy"
    _anonymous(_phantom({"titania": 3, "gold": 2})).save(path)
    cfg = fast_cfg
    cfg["preprocess"]["bin"] = [2, 2]
    cfg["clustering"]["method_args"] = {"n_components": 3, "random_state": 0}
    cfg["report"]["enabled"] = True
    [res] = run_batch([path], cfg, tmp_path / "out", progress=False)
    assert res.ok, res.error
    rec = json.loads((res.out_dir / "run.json").read_text())
    review = rec["dataset"]["lines_review"]
    assert review["applied"] and [a["element"] for a in review["added"]] == ["Au"]
    assert review["added"][0]["significance"] >= 5 and review["added"][0]["pixels"] > 0
    assert review["added"][0]["line"] in rec["dataset"]["feature_list"]
    assert "second_look" in rec["timings_s"]
    report = (res.out_dir / "report.html").read_text(encoding="utf-8")  # and the report says so
    assert f"second look at the clusters' spectra added {review['added'][0]['line']}" in report
