"""The crop channel of ``remove_first_peak`` is HyperSpy's ``isig[value:]`` channel."""

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.preprocessing.spectra import isig_index


@pytest.mark.parametrize("offset, scale", [(-0.47, 0.01), (0.0, 0.01), (-0.2, 0.005), (0.013, 0.0201)])
def test_isig_index_is_hyperspys_value2index(offset, scale):
    from hyperspy.axes import UniformDataAxis

    size = 2048
    ax = UniformDataAxis(size=size, scale=scale, offset=offset)
    rng = np.random.default_rng(0)
    lo, hi = ax.axis[0], ax.axis[-1]
    values = list(rng.uniform(lo, hi, 300))
    # ties (exactly half-way between two channels) and channel centres, both signs
    values += [float(offset + (i + 0.5) * scale) for i in range(0, 120)]
    values += [float(offset + i * scale) for i in range(0, 120)]
    values = [v for v in values if lo <= v <= hi]
    assert any(v < 0 for v in values) == (offset < 0)
    for v in values:
        assert isig_index(v, offset, scale, size) == int(ax.value2index(v)), v


def test_isig_index_refuses_off_axis():
    with pytest.raises(SigmaValueError, match="value"):
        isig_index(30.0, 0.0, 0.01, 2048)
    with pytest.raises(SigmaValueError, match="value"):
        isig_index(float("nan"), 0.0, 0.01, 2048)
