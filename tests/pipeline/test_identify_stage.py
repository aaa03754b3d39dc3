"""The [identify] stage of ``sigma run``: its configuration, files, run.json entries, report."""

import copy
import csv
import json

import pytest

from sigma.pipeline.config import ConfigError, validate_config
from sigma.pipeline.runner import run_batch


def test_identify_config_is_validated():
    cfg = validate_config({"identify": {"classes": ["sulfide"], "kfactors": {"Fe_Ka": 1.4, "Pt_La": 5.1}}})
    assert cfg["identify"]["classes"] == ["sulfide"] and cfg["identify"]["enabled"]
    with pytest.raises(ConfigError, match="identify.classes.*did you mean 'sulfide'"):
        validate_config({"identify": {"classes": ["sulfides"]}})
    with pytest.raises(ConfigError, match="identify.nuisance"):
        validate_config({"identify": {"nuisance": ["Cx"]}})
    with pytest.raises(ConfigError, match="identify.kfactors.Fe_Kz"):
        validate_config({"identify": {"kfactors": {"Fe_Kz": 1.0, "Pt_La": 1.0}}})
    with pytest.raises(ConfigError, match="identify.min_p_value"):
        validate_config({"identify": {"min_p_value": 1.5}})


@pytest.fixture(scope="module")
def named_run(tmp_path_factory, fast_cfg_shared):
    from sigma.synthetic import make_phantom

    root = tmp_path_factory.mktemp("ident")
    ph = make_phantom((24, 32), phases={"halite": "NaCl", "fluorite": "CaF2", "sylvite": "KCl"},
                      counts_per_pixel=150, n_channels=1024, energy_scale=0.02, energy_offset=-0.1, seed=1)
    path = ph.save_hspy(root / "salts.hspy")
    cfg = copy.deepcopy(fast_cfg_shared)
    cfg["identify"]["enabled"] = cfg["report"]["enabled"] = True
    cfg["clustering"]["method_args"] = {"n_components": 3, "random_state": 0}
    cfg["features"].update(lines=["Na_Ka", "Cl_Ka", "Ca_Ka", "F_Ka", "K_Ka"], normalisation=["zscore"])
    res = run_batch([path], cfg, root / "out")
    assert res[0].ok, res[0].error
    return res[0].out_dir


def test_run_writes_names_modal_statistics_and_emsa(named_run):
    out = named_run
    for name in ("phase_identification.csv", "phase_elements.csv", "modal_statistics.csv",
                 "grains.csv", "phase_association.csv"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "phase_identification.csv").open(encoding="utf-8")))
    assert sorted(r["best"] for r in rows) == ["fluorite", "halite", "sylvite"]
    assert all(float(r["p_value"]) > 1e-3 and r["candidates"] for r in rows)
    assert sorted(p.name for p in (out / "spectra").glob("cluster_*.msa")) == [f"cluster_{r['cluster']}.msa" for r in sorted(rows, key=lambda r: r["cluster"])]
    rec = json.loads((out / "run.json").read_text())
    res = rec["results"]
    assert set(res["names"].values()) == {"halite NaCl", "fluorite CaF₂", "sylvite KCl"}
    cand = res["identification"]["clusters"][rows[0]["cluster"]]["candidates"][0]
    assert {"chi2", "dof", "p_value", "score", "source"} <= set(cand)
    assert res["modal"]["unit"] == "µm" and len(res["modal"]["phases"]) == 3
    assert "identify" in rec["timings_s"]


def test_report_table_and_legend_carry_the_names(named_run):
    page = (named_run / "report.html").read_text(encoding="utf-8")
    assert "Phase identification" in page and "Modal statistics" in page
    assert " · halite NaCl · " in page and "fluorite CaF₂" in page
