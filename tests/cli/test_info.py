"""``sigma info`` on real instrument files and on a written .h5oina file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sigma.cli.main import main


@pytest.mark.parametrize(
    ("rel", "expect"),
    [
        ("bcf/bcf_v2_50x50px.bcf", ["50 × 50 pixels × 2048 channels", "Beam energy:       20 kV",
                                    "Ag_La, Al_Ka", "Navigation images: Ch 1 50×50", "EDS_SEM"]),
        ("bcf/test_TEM.bcf", ["64 × 64 pixels", "EDS_TEM", "200 kV", "HAADF 64×64"]),
        ("emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi", ["5 × 5 pixels × 4000 channels", "5.000 eV/channel"]),
        ("hspy/core_shell.hspy", ["64 × 64 pixels × 992 channels", "Fe_Ka, Pt_La", "20.000 eV/channel"]),
    ],
)
def test_info_real_files(real_dir, rel, expect, capsys):
    assert main(["info", str(real_dir / rel)]) == 0
    out = capsys.readouterr().out
    for e in expect:
        assert e in out, (e, out)


def test_info_json(real_dir, capsys):
    assert main(["-q", "info", "--json", str(real_dir / "bcf" / "bcf_v2_50x50px.bcf")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [50, 50, 2048] and info["beam_energy_kv"] == 20.0
    assert info["energy"]["channels"] == 2048 and abs(info["energy"]["scale_kev"] - 0.01) < 1e-3
    assert info["pixel_size"]["units"] == "µm"


def test_info_h5oina(tmp_path, capsys):
    from sigma.io.h5oina import write_h5oina

    cube = np.random.default_rng(0).poisson(2, (6, 7, 128)).astype(np.int32)
    p = write_h5oina(tmp_path / "m.h5oina", cube, energy_scale=0.02, energy_offset=-0.1,
                     nav_scale=(0.5, 0.5), beam_energy=15.0, elements=("Fe", "Si"),
                     bse_image=np.zeros((6, 7), np.uint8))
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    for e in ("6 × 7 pixels × 128 channels", "15 kV", "20.000 eV/channel", "Fe, Si", "BSE 6×7",
              "site 1 / EDS: 6×7 px, 128 channels, cube yes", "0.5 × 0.5"):
        assert e in out, (e, out)


def test_info_missing_file(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.bcf")]) == 1
    assert f"File '{tmp_path / 'nope.bcf'}' does not exist." in capsys.readouterr().err


def test_config_example_and_module_entry(capsys):
    import subprocess
    import sys
    import tomllib

    assert main(["config", "--example"]) == 0
    tomllib.loads(capsys.readouterr().out)
    r = subprocess.run([sys.executable, "-m", "sigma", "run", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--scheduler" in r.stdout and "dask scheduler" in r.stdout
