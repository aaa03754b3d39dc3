"""A failing input or stage never costs more than that input's failing part (issue 14):
a corrupt file fails alone (summary printed, later inputs run, no staging left), a failing late
stage keeps the earlier stages' outputs, and staging folders never outlive their run."""

from __future__ import annotations

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
