"""A failing input or stage never costs more than that input's failing part (issue 14):
a corrupt file fails alone (summary printed, later inputs run, no staging left), a failing late
stage keeps the earlier stages' outputs, and staging folders never outlive their run."""

from __future__ import annotations

import pytest

from sigma.cli.main import main


def flipped_bcf(real_dir, tmp_path, name="16x16_12bit_packed_8bit.bcf"):
    b = bytearray((real_dir / "bcf" / name).read_bytes())
    at = int(len(b) * 0.7)
    b[at:at + 256] = b"\xff" * 256
    dst = tmp_path / f"flipped_{name}"
    dst.write_bytes(bytes(b))
    return dst


def test_batch_goes_on_after_a_corrupt_bcf(real_dir, tmp_path, make_input, capsys):
    """The summary is printed, later inputs run and no staging folder is left."""
    bad = flipped_bcf(real_dir, tmp_path)
    good, _ = make_input()
    cfg = tmp_path / "c.toml"
    cfg.write_text('[preprocess]\nbin = [1, 1]\n[latent]\nmethod = "autoencoder"\n'
                   '[latent.autoencoder]\nhidden_layer_sizes = [8]\n[latent.autoencoder.run]\n'
                   'num_epochs = 2\n[report]\nenabled = false\n')
    out = tmp_path / "out"
    rc = main(["-q", "run", str(bad), str(good), "--config", str(cfg), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 1
    assert f"FAILED  {bad}: SigmaFileError: File '{bad}' crashed the decoder" in cap.err
    assert "1 of 2 input(s) done, 1 failed" in cap.out
    assert (out / "ph" / "labels.npy").exists()
    assert sorted(p.name for p in out.iterdir()) == ["ph"]


# ----------------------------------------------------------------------------- a later stage fails
def test_nmf_failure_keeps_the_clustering_outputs(tmp_path, make_input, monkeypatch, capsys):
    import json

    import numpy as np

    from sigma.pipeline import stages

    path, _ = make_input()

    def broken(*a, **k):
        raise ValueError("NMF exploded")

    monkeypatch.setattr(stages, "_unmix", broken)
    cfg = tmp_path / "c.toml"
    cfg.write_text('[preprocess]\nbin = [1, 1]\n[latent]\nmethod = "autoencoder"\n'
                   '[latent.autoencoder]\nhidden_layer_sizes = [8]\n[latent.autoencoder.run]\n'
                   'num_epochs = 2\n')
    out = tmp_path / "out"
    rc = main(["-q", "run", str(path), "--config", str(cfg), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 1
    assert f"PARTIAL {path}: {out / 'ph'} holds the outputs of the stages before 'nmf', which " \
           "failed: ValueError: NMF exploded" in cap.err
    assert "0 of 1 input(s) done, 1 partial, 0 failed" in cap.out
    names = {p.name for p in (out / "ph").iterdir()}
    assert {"labels.npy", "labels.tiff", "masks", "phase_map.png", "cluster_spectra.csv",
            "phase_proportions.csv", "segmenter_state.npz", "report.html", "run.json"} <= names
    assert not names & {"nmf_weights.csv", "nmf_components.csv", "abundance_maps.npy"}
    rec = json.loads((out / "ph" / "run.json").read_text())
    assert rec["status"] == "partial"
    assert rec["failed_stage"] == {"stage": "nmf", "error": "ValueError: NMF exploded"}
    assert "Stage &#x27;nmf&#x27; failed:" in (out / "ph" / "report.html").read_text() or \
           "Stage 'nmf' failed:" in (out / "ph" / "report.html").read_text()
    labels = np.load(out / "ph" / "labels.npy")
    assert labels.shape == (24, 32) and len(np.unique(labels)) > 1
    # the partial folder is SIGMA2's: --overwrite may replace it
    monkeypatch.undo()
    assert main(["-q", "run", str(path), "--config", str(cfg), "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "ph" / "run.json").read_text())["status"] == "complete"


def _fixed_segmenter(ds, labels):
    """A PixelSegmenter whose clustering returns ``labels`` (the public estimator contract)."""
    import numpy as np

    from sigma.clustering import PixelSegmenter

    class Fixed:
        def fit_predict(self, x):
            return labels.ravel()

    latent = np.zeros((labels.size, 2), np.float32)
    return PixelSegmenter(latent, ds, Fixed(), None)


@pytest.mark.parametrize("name", ["bcf-edx-ebsd.bcf", "Hitachi_TM3030Plus.bcf"])
def test_nmf_on_real_files_gives_no_all_zero_component(real_dir, name):
    """Clusters of pixels without counts (as the default run finds on these files) used to
    seed an all-zero end-member, and the abundance fit then failed."""
    import numpy as np

    from sigma.pipeline.config import default_config
    from sigma.pipeline.stages import prepare_dataset

    ds = prepare_dataset(real_dir / "bcf" / name, default_config())  # the default run's input
    total = np.asarray(ds.analysis_spectra.data).sum(axis=-1)
    labels = np.where(total > 0, np.where(total > np.median(total[total > 0]), 0, 1), 2)
    ps = _fixed_segmenter(ds, labels.astype(np.int32))
    assert len(ps.cluster_ids) == 3 and ps.get_cluster_spectra("mean")[2].sum() == 0
    w, h = ps.get_unmixed_spectra_profile_init_guess(n_components=3, seed_clusters=[0, 1, 2],
                                                     method_args={"init": "nndsvd"})
    assert h.shape[0] == 2 and (np.linalg.norm(h, axis=1) > 0).all()
    ab = ps.abundance_maps()
    assert ab.shape == (*labels.shape, 2) and np.isfinite(ab).all()
    w, h = ps.get_unmixed_spectra_profile(n_components=3, method_args={"init": "nndsvd"})
    assert (np.linalg.norm(h, axis=1) > 0).all()
