"""Modal statistics on hand-made label images with known answers."""

import numpy as np
import pytest

from sigma.identify import modal_statistics


def test_area_grains_and_ecd_on_a_known_map():
    lab = np.full((10, 10), 0)
    lab[2:5, 2:5] = 1          # a 3x3 grain
    lab[7:9, 7:9] = 1          # a 2x2 grain
    lab[0, 9] = -1             # one noise pixel
    st = modal_statistics(lab, pixel_size=(0.5, 2.0), unit="µm")
    assert st.ids.tolist() == [0, 1]
    assert st.pixels.tolist() == [86, 13] and st.noise_pixels == 1
    assert st.area_percent.tolist() == pytest.approx([86.0, 13.0])
    assert st.n_grains.tolist() == [1, 2]
    areas = sorted(st.grains[st.grains[:, 0] == 1, 2])
    assert areas == pytest.approx([4 * 1.0, 9 * 1.0])  # pixels of 0.5 x 2 um = 1 um^2
    assert st.ecd_max[1] == pytest.approx(2 * np.sqrt(9 / np.pi))
    assert st.ecd_d50[1] == pytest.approx(np.mean([2 * np.sqrt(4 / np.pi), 2 * np.sqrt(9 / np.pi)]))
    # phase 0 touches the border, the two grains of phase 1 do not
    assert st.grains[st.grains[:, 0] == 0, 4].tolist() == [1]
    assert st.grains[st.grains[:, 0] == 1, 4].tolist() == [0, 0]


def test_connectivity_changes_diagonal_grains():
    lab = np.array([[1, 0], [0, 1]])
    assert modal_statistics(lab, connectivity=8).n_grains.tolist() == [1, 1]
    assert modal_statistics(lab, connectivity=4).n_grains.tolist() == [2, 2]


def test_association_counts_shared_edges_and_rows_sum_to_one():
    lab = np.array([[0, 0, 1],
                    [0, 2, 1],
                    [2, 2, 1]])
    st = modal_statistics(lab)
    s = st.shared_edges
    assert s[0, 1] == s[1, 0] == 1 and s[0, 2] == 3 and s[1, 2] == 2
    assert np.allclose(st.association.sum(axis=1), 1.0)
    assert st.association[0, 2] == pytest.approx(3 / 4)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="labels"):
        modal_statistics(np.zeros(5))
    with pytest.raises(ValueError, match="pixel_size"):
        modal_statistics(np.zeros((2, 2), int), pixel_size=0)
    with pytest.raises(ValueError, match="connectivity"):
        modal_statistics(np.zeros((2, 2), int), connectivity=6)
