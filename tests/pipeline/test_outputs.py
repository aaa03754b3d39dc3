"""Atomic writes, staging folders, overwrite safety and Ctrl-C cleanup."""

from __future__ import annotations

import numpy as np
import pytest

from sigma.pipeline import results, runner, stages
from sigma.pipeline.outputs import (
    OutputExistsError,
    StagedOutput,
    atomic_write_npy,
    atomic_write_text,
)


def test_atomic_write_leaves_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "x")
    atomic_write_npy(tmp_path / "b.npy", np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.npy"]


def test_staged_output_commit_and_abort(tmp_path):
    with StagedOutput(tmp_path, "s") as st:
        atomic_write_text(st.path / "f.txt", "1")
        assert st.path.name.startswith(".s.partial-")
    assert (tmp_path / "s" / "f.txt").read_text() == "1"
    with pytest.raises(OutputExistsError, match=r"File '.*s' already exists \(an earlier SIGMA2 output\); expected .*--overwrite"):
        with StagedOutput(tmp_path, "s"):
            pass
    with pytest.raises(RuntimeError), StagedOutput(tmp_path, "s", overwrite=True) as st:
        atomic_write_text(st.path / "g.txt", "2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert (tmp_path / "s" / "f.txt").exists()  # the old output survives a failed overwrite
    with StagedOutput(tmp_path, "s", overwrite=True) as st:
        atomic_write_text(st.path / "g.txt", "2")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["g.txt", "run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_keyboard_interrupt_leaves_no_partial_files(tmp_path, make_input, fast_cfg, monkeypatch):
    path, _ = make_input()

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "write_outputs", lambda folder, *a, **k: (
        atomic_write_text(folder / "labels.npy", "half"), interrupted()))
    with pytest.raises(KeyboardInterrupt):
        runner.run_batch([path], fast_cfg, tmp_path / "out", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_keyboard_interrupt_in_cli_exits_130(tmp_path, make_input, monkeypatch, capsys):
    from sigma.cli.main import main

    path, _ = make_input()
    monkeypatch.setattr(stages, "_unmix", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[latent]\nmethod = "autoencoder"\n[latent.autoencoder]\nhidden_layer_sizes = [8]\n'
                   '[latent.autoencoder.run]\nnum_epochs = 1\n[preprocess]\nbin = [1, 1]\n')
    assert main(["-q", "run", str(path), "--config", str(cfg), "--out", str(tmp_path / "o")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert list((tmp_path / "o").iterdir()) == []


# ----------------------------------------------------------------------------- --overwrite safety
def _own_output(out, name="s", files=("labels.npy",)):
    with StagedOutput(out, name) as st:
        for f in files:
            atomic_write_text(st.path / f, "x")
    return out / name


def test_overwrite_never_deletes_the_input_or_user_files(tmp_path, make_input, fast_cfg, capsys):
    """`sigma run data/sample1/sample1.hspy --out data --overwrite` once deleted the input."""
    import shutil

    from sigma.cli.main import main

    src, _ = make_input()
    data = tmp_path / "data"
    (data / "ph").mkdir(parents=True)
    inp = shutil.copy(src, data / "ph" / "ph.hspy")
    (data / "ph" / "notes.txt").write_text("my notes")
    before = sorted(p.name for p in (data / "ph").iterdir())
    rc = main(["-q", "run", str(inp), "--out", str(data), "--overwrite"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "SIGMA2 will not replace it: it holds this run's input" in err and str(inp) in err
    assert sorted(p.name for p in (data / "ph").iterdir()) == before
    # the same with the input elsewhere: the folder holds a user's files, named in the message
    with pytest.raises(OutputExistsError, match=r"no run.json written by SIGMA2 \(it holds notes.txt, ph.hspy\)"):
        runner.run_batch([src], fast_cfg, data, overwrite=True, progress=False)
    assert sorted(p.name for p in (data / "ph").iterdir()) == before


def test_overwrite_refuses_a_sigma_folder_with_a_user_file_added(tmp_path):
    final = _own_output(tmp_path)
    with StagedOutput(tmp_path, "s", overwrite=True) as st:  # its own output: replaced
        atomic_write_text(st.path / "labels.npy", "y")
    assert (final / "labels.npy").read_text() == "y"
    (final / "masks").mkdir()
    (final / "masks" / "my_edit.tiff").write_bytes(b"user")
    with pytest.raises(OutputExistsError, match=r"holds files SIGMA2 did not write there: masks/, masks/my_edit.tiff"):
        with StagedOutput(tmp_path, "s", overwrite=True):
            pass
    assert (final / "masks" / "my_edit.tiff").read_bytes() == b"user"
    # a user's own run.json is no SIGMA2 marker
    other = tmp_path / "t"
    other.mkdir()
    (other / "run.json").write_text('{"sigma2_run": 1, "outputs": ["run.json"]}')
    with pytest.raises(OutputExistsError, match="no run.json written by SIGMA2"):
        with StagedOutput(tmp_path, "t", overwrite=True):
            pass


def test_demo_overwrite_spares_a_user_folder(tmp_path, capsys):
    from sigma.cli.main import main

    (tmp_path / "phantom").mkdir()
    (tmp_path / "phantom" / "scan.bcf").write_bytes(b"original scan")
    assert main(["-q", "demo", "--out", str(tmp_path), "--overwrite", "--size", "8", "8"]) == 1
    assert "scan.bcf" in capsys.readouterr().err
    assert (tmp_path / "phantom" / "scan.bcf").read_bytes() == b"original scan"


def test_shared_proportions_csv_of_a_user_is_not_replaced(tmp_path, make_input, fast_cfg):
    a, _ = make_input("a", seed=1)
    (tmp_path / "shared_proportions.csv").write_text("mine\n")
    with pytest.raises(OutputExistsError, match="shared_proportions.csv' already exists and was not written by SIGMA2"):
        runner.run_batch([a], fast_cfg, tmp_path, overwrite=True, shared_phases=True, progress=False)
    assert (tmp_path / "shared_proportions.csv").read_text() == "mine\n"


def test_outputs_masks_and_state_share_permissions(demo_out):
    import os
    import stat

    mode = stat.S_IMODE(os.stat(demo_out / "labels.npy").st_mode)
    assert mode & 0o044  # readable by others, as any file the user writes
    for p in [demo_out / "segmenter_state.npz", *sorted((demo_out / "masks").glob("cluster_*.tiff"))]:
        assert stat.S_IMODE(os.stat(p).st_mode) == mode, p
