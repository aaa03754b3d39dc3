"""Write ``golden_tutorial.npz``: the tutorial's pre-processing as computed before the
processing record (commit ``edc1b4f`` of main), so that tests can check the results stay the
same (features to 1e-5, labels identical for a fixed seed).

Run with the *old* code on the path::

    PYTHONPATH=<old checkout>/src python tests/datasets/data/make_golden.py tests/datasets/data/golden_tutorial.npz [PHANTOM.hspy]

The phantom's line intensities changed later (a physically grounded generator), so its part
is computed by the old code from the phantom the *current* generator makes, saved first with
``make_phantom((24, 32), counts_per_pixel=100, seed=1).save_hspy(PHANTOM.hspy)`` by the
current code and passed as the second argument.
"""

import sys

import numpy as np

from sigma.src.segmentation import PixelSegmenter
from sigma.synthetic import make_phantom
from sigma.utils import normalisation as norm
from sigma.utils.load import SEMDataset

P45 = "/work/shared/data/real/bcf/P45_12bit_packed_8bit.bcf"


def main(path):
    out = {}
    for lazy in (False, True):
        sem = SEMDataset(P45, lazy=lazy)
        raw = sem.get_feature_maps(raw_data=True)
        sem.rebin_signal(size=(3, 3))
        sem.peak_intensity_normalisation()
        sem.remove_first_peak(end=0.1)
        f = sem.normalisation([norm.neighbour_averaging, norm.zscore])
        k = "lazy" if lazy else "eager"
        ps = PixelSegmenter(latent=f.reshape(-1, f.shape[-1])[:, :3], dataset=sem,
                            method="GaussianMixture",
                            method_args={"n_components": 6, "random_state": 0, "init_params": "kmeans"})
        out[f"p45_{k}_labels"] = np.asarray(ps.labels)
        out[f"p45_{k}_raw_sums"] = raw.sum(axis=(0, 1), dtype=np.float64)
        if not lazy:
            out["p45_features"] = f
            out["p45_bg"] = sem.get_feature_maps(background=True)
            out["p45_nav"] = sem.get_feature_maps_with_nav_img(
                normalisation=[norm.neighbour_averaging, norm.zscore])
    phantom = sys.argv[2] if len(sys.argv) > 2 else make_phantom((24, 32), counts_per_pixel=100, seed=1).to_signal()
    sem = SEMDataset(phantom)
    sem.peak_intensity_normalisation()
    counts = sem.line_counts()
    out["phantom_line_counts"] = np.array([[counts[x]["mean"], counts[x]["top_mean"]] for x in sorted(counts)])
    out["phantom_features"] = sem.normalisation([norm.zscore])
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])
