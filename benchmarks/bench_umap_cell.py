"""The tutorial's own UMAP cell, timed in a fresh process after the tutorial's imports.

umap-learn's ``UMAP(n_neighbors=15, min_dist=0.02).fit_transform`` on 5000 × 10 points, twice;
``WAIT`` seconds of sleep between the imports and the cell stand for the user's loading and
pre-processing cells (the imports start the pynndescent warm-up thread,
:func:`sigma.embedding.umap.tutorial_warm_up`). Run it once before measuring, so numba's
on-disk cache exists ("every kernel after the first ever run")::

    python benchmarks/bench_umap_cell.py 0     # the cell right after the imports
    python benchmarks/bench_umap_cell.py 20    # after 20 s of other cells

Prints one ``UMAPCELL {json}`` line: import seconds, wait, first and second call seconds.
"""

import json
import sys
import time

t0 = time.perf_counter()
import numpy as np  # noqa: E402
from umap import UMAP  # noqa: E402 - the tutorial's order: umap first

from sigma.gui import gui  # noqa: E402, F401
from sigma.models.autoencoder import AutoEncoder  # noqa: E402, F401
from sigma.src.dim_reduction import Experiment  # noqa: E402, F401
from sigma.src.segmentation import PixelSegmenter  # noqa: E402, F401
from sigma.src.utils import same_seeds  # noqa: E402, F401
from sigma.utils import normalisation as norm  # noqa: E402, F401
from sigma.utils import visualisation as visual  # noqa: E402, F401
from sigma.utils.load import SEMDataset  # noqa: E402, F401

t_imp = time.perf_counter() - t0
wait = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
time.sleep(wait)
rng = np.random.default_rng(0)
centres = rng.normal(0, 3, (6, 10))
data = (centres[rng.integers(0, 6, 5000)] + rng.normal(0, 1, (5000, 10))).astype(np.float32)
res = {"imports_s": round(t_imp, 2), "wait_s": wait}
for i in (1, 2):
    t = time.perf_counter()
    latent = UMAP(n_neighbors=15, min_dist=0.02, n_components=2, metric="euclidean").fit_transform(data)
    res[f"call{i}_s"] = round(time.perf_counter() - t, 2)
print("UMAPCELL " + json.dumps(res), flush=True)
