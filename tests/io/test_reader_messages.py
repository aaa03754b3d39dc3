"""Reader messages say what is wrong: not "truncated or corrupt" for a permission problem or a
lack of memory, the missing .ser of an .emi, a folder where a file is expected, a file with
no counts (issue 14, item 10)."""

from __future__ import annotations

import shutil

import pytest

from sigma._errors import SigmaFileError
from sigma.io import load


@pytest.mark.parametrize(
    ("exc", "message"),
    [(MemoryError(), "needs more memory than is free to read it"),
     (PermissionError(13, "Permission denied"), "could not be opened: permission denied")],
)
def test_memory_and_permission_errors_are_not_called_corrupt(real_dir, monkeypatch, exc, message):
    import rsciio.hspy

    def reader(*a, **k):
        raise exc

    monkeypatch.setattr(rsciio.hspy, "file_reader", reader)
    with pytest.raises(SigmaFileError, match=message) as info:
        load(real_dir / "hspy/core_shell.hspy")
    assert "corrupt" not in str(info.value)


def test_emi_without_its_ser_says_the_ser_is_missing(real_dir, tmp_path):
    emi = "16x16-spectrum_image_5x5x4000-not_square.emi"
    shutil.copy(real_dir / "emi_ser" / emi, tmp_path / emi)
    with pytest.raises(SigmaFileError, match=r"has no \.ser data file beside it .*_1\.ser"):
        load(tmp_path / emi)
    shutil.copy(real_dir / "emi_ser" / emi.replace(".emi", "_1.ser"), tmp_path)
    assert load(tmp_path / emi).shape == (5, 5, 4000)


def test_a_folder_named_like_a_data_file_is_not_an_element_map_folder(tmp_path):
    (tmp_path / "x.hspy").mkdir()
    with pytest.raises(SigmaFileError, match=r"x\.hspy' is a folder; expected a \.hspy file"):
        load(tmp_path / "x.hspy")


def test_real_emi_without_counts_says_so(real_dir, tmp_path):
    from sigma.pipeline.config import default_config
    from sigma.pipeline.runner import run_batch

    emi = real_dir / "emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi"
    [res] = run_batch([emi], default_config(), tmp_path, progress=False)
    assert not res.ok
    assert res.error == (f"SigmaFileError: File '{emi}' holds no counts (every channel of every "
                         "pixel is 0); expected a spectrum image with counts.")


@pytest.mark.parametrize(("name", "args"), [("hspy/core_shell.hspy", {"downsample": 2}),
                                            ("emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi", {"site": 1})])
def test_reader_args_a_reader_does_not_take_are_refused(real_dir, tmp_path, name, args):
    """`input.reader_args` was silently ignored for .hspy/.zspy/.emi while run.json recorded
    it as applied."""
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.runner import run_batch

    suffix = "." + name.rsplit(".", 1)[1]
    with pytest.raises(ValueError, match=rf"'reader_args' parameter must be arguments the \{suffix} "
                                         rf"reader takes: none .*Got {args!r}"):
        load(real_dir / name, **args)
    cfg = validate_config({"input": {"reader_args": args}})
    [res] = run_batch([real_dir / name], cfg, tmp_path, progress=False)
    assert not res.ok and "'reader_args' parameter must be" in res.error
    assert list(tmp_path.iterdir()) == []


def test_reader_args_a_reader_takes_are_applied(real_dir):
    full = load(real_dir / "bcf/P45_12bit_packed_8bit.bcf")
    half = load(real_dir / "bcf/P45_12bit_packed_8bit.bcf", downsample=2)
    assert half.shape == (38, 50, 2048) and int(half.data.sum()) == int(full.data.sum())
