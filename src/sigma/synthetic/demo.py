"""The built-in demo data: a cached phantom file the tutorial notebook and ``sigma demo`` open.

The files are written once into a cache folder (``$SIGMA_CACHE``, default ``~/.cache/sigma2``)
and reused; a different ``version`` of the recipe gets a new file name, so a stale cache is
never read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._errors import bad_value
from .._files import atomic_path, atomic_write_tiff

#: Recipe of the demo phantoms; bump ``version`` whenever it changes.
DEMO = {
    "SEM": {"shape": (192, 256), "counts_per_pixel": 40, "seed": 7, "boundary_width": 1},
    "TEM": {"shape": (128, 128), "counts_per_pixel": 60, "seed": 11, "boundary_width": 1},
    "version": 1,
}


def cache_dir() -> Path:
    """Folder of the cached demo files (created on demand).

    ``$SIGMA_CACHE`` when set, else ``~/.cache/sigma2``.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> folder = os.path.join(tempfile.mkdtemp(), "sigma-cache")
    >>> with mock.patch.dict(os.environ, {"SIGMA_CACHE": folder}):
    ...     d = cache_dir()
    >>> str(d) == folder, d.is_dir()
    (True, True)
    """
    d = Path(os.environ.get("SIGMA_CACHE", Path.home() / ".cache" / "sigma2"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def demo_phantom(kind: str = "SEM"):
    """The demo :class:`~sigma.synthetic.Phantom` (deterministic).

    Examples
    --------
    >>> demo_phantom("SEM").labels.shape
    (192, 256)
    """
    from .generate import make_phantom

    kind = str(kind).upper()
    if kind not in ("SEM", "TEM"):
        raise bad_value("kind", kind, "'SEM' or 'TEM'")
    recipe = DEMO[kind]
    return make_phantom(
        recipe["shape"],
        kind=kind,
        counts_per_pixel=recipe["counts_per_pixel"],
        seed=recipe["seed"],
        boundary_width=recipe["boundary_width"],
    )


def demo_path(kind: str = "SEM") -> Path:
    """Path of the built-in demo spectrum image (a phantom ``.hspy``), written on first use.

    Examples
    --------
    >>> from sigma.utils.load import SEMDataset
    >>> SEMDataset(demo_path()).spectra.data.shape
    (192, 256, 2048)
    """
    kind = str(kind).upper()
    path = cache_dir() / f"sigma2_demo_{kind}_v{DEMO['version']}.hspy"
    if not path.exists():
        ph = demo_phantom(kind)
        with atomic_path(path, suffix=".hspy") as tmp:
            tmp.unlink()  # HyperSpy refuses to write over an existing file
            ph.save_hspy(tmp, compression="lzf")
    return path


def demo_high_res_path(factor: int = 4) -> Path:
    """A high-resolution electron image of the SEM demo field (``factor`` × its pixels), as TIFF.

    The tutorial exports cluster masks upscaled to such an image. It is the phantom's BSE image
    resampled to the finer grid with a little noise, as a second acquisition would be.

    Examples
    --------
    >>> import tifffile
    >>> tifffile.imread(demo_high_res_path()).shape
    (768, 1024)
    """
    path = cache_dir() / f"sigma2_demo_high_res_x{factor}_v{DEMO['version']}.tif"
    if not path.exists():
        nav = demo_phantom("SEM").nav_img
        big = np.kron(nav, np.ones((factor, factor), np.float32))
        rng = np.random.default_rng(0)
        big = big + rng.normal(0, 0.02 * float(nav.std() or 1), big.shape).astype(np.float32)
        lo, hi = float(big.min()), float(big.max())
        img = ((big - lo) / (hi - lo or 1) * 65535).astype(np.uint16)
        atomic_write_tiff(path, img)
    return path
