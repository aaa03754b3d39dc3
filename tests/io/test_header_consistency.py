"""Files that disagree with their own header are errors, never garbage (issue 14, item 7)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from sigma._errors import SigmaFileError
from sigma.io import load

RIPPLE = "ripple_bruker_esprit_demo"


def test_raw_twice_the_size_its_rpl_describes_is_refused(vendor_dir, tmp_path):
    """A 32-bit export under a 16-bit header used to load its first half as 16-bit counts."""
    src = vendor_dir / RIPPLE
    shutil.copy(src / "4on3_full.rpl", tmp_path)
    counts = np.fromfile(src / "4on3_full.raw", "<u2").astype("<u4")  # the same counts, 32-bit
    counts.tofile(tmp_path / "4on3_full.raw")
    with pytest.raises(SigmaFileError, match=(
            r"4on3_full\.raw' holds 49152 bytes but its header '4on3_full\.rpl' describes 3 x 4 x "
            r"1024 values of 2 byte\(s\) \(unsigned\) after 0 byte\(s\) = 24576 bytes \(2 times")):
        load(tmp_path / "4on3_full.rpl", energy_scale=0.01)
    (tmp_path / "4on3_full.raw").write_bytes((src / "4on3_full.raw").read_bytes()[:-10])
    with pytest.raises(SigmaFileError, match="holds 24566 bytes but"):
        load(tmp_path / "4on3_full.rpl", energy_scale=0.01)
    shutil.copy(src / "4on3_full.raw", tmp_path)  # the right size still loads
    assert load(tmp_path / "4on3_full.rpl", energy_scale=0.01).shape == (3, 4, 1024)


def test_zspy_missing_chunk_files_is_refused(tmp_path):
    from sigma.synthetic import make_phantom

    sig = make_phantom((24, 32), n_channels=128, energy_scale=0.08, seed=0).to_signal()
    store = tmp_path / "p.zspy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sig.save(store, chunks=(8, 32, 128))
    assert load(store).shape == (24, 32, 128)
    [data] = [p for p in store.glob("Experiments/*/data")]
    shutil.rmtree(data / "1")  # rows 8-15 of the cube are gone
    with pytest.raises(SigmaFileError, match=(
            r"p\.zspy' is missing 1 of the 3 chunk files of 'Experiments/.*/data' \(1/0/0\); "
            r"they would read as zeros")):
        load(store)
    with pytest.raises(SigmaFileError, match="missing 1 of the 3 chunk files"):
        load(store, lazy=True)
