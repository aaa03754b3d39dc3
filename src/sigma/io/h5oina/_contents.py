"""Table of contents of an ``.h5oina`` file (for ``sigma info``), reading no pixel data."""

from __future__ import annotations

import os
from typing import Any

from ._spec import _IMAGE_KINDS, _MAP_GROUPS, _check_path, _detectors, _open, _scalar, _sites


def list_h5oina_contents(path: str | os.PathLike) -> dict[str, Any]:
    """Table of contents of an ``.h5oina`` file, for ``sigma info``; reads no pixel data.

    Returns
    -------
    dict
        ``path``, ``format_version``, ``sites`` (slice names), ``detectors``, ``images`` and
        ``has_cube`` of the first site (what :func:`read_h5oina` reads by default), and
        ``per_site``: ``{site: {'detectors': {det: {'shape': (H, W), 'channels': C or None,
        'has_cube': bool, 'maps': {group: [names]}}}, 'images': [...]}}``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from sigma.io.h5oina import write_h5oina
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_h5oina(Path(tmp) / "m.h5oina", np.ones((2, 3, 5), np.int32),
    ...                      energy_scale=0.01, energy_offset=0.0,
    ...                      bse_image=np.zeros((2, 3), np.uint8))
    ...     toc = list_h5oina_contents(p)
    >>> toc["sites"], toc["detectors"], toc["images"], toc["has_cube"]
    (['1'], ['EDS'], ['BSE'], True)
    >>> toc["per_site"]["1"]["detectors"]["EDS"]["shape"]
    (2, 3)
    """
    import h5py

    path = _check_path(path)
    with _open(path) as f:
        sites = _sites(f, path)
        per_site: dict[str, Any] = {}
        for s in sites:
            dets = {}
            for d in _detectors(f[s]):
                hdr = f.get(f"/{s}/{d}/Header")
                data = f.get(f"/{s}/{d}/Data")
                spec = data.get("Spectrum") if isinstance(data, h5py.Group) else None
                maps = {}
                if isinstance(data, h5py.Group):
                    for g in _MAP_GROUPS:
                        if isinstance(data.get(g), h5py.Group) and len(data[g]):
                            maps[g] = list(data[g].keys())
                w, h = _scalar(hdr, "X Cells"), _scalar(hdr, "Y Cells")
                dets[d] = {
                    "shape": None if w is None or h is None else (int(h), int(w)),
                    "channels": None if spec is None else int(spec.shape[-1]),
                    "has_cube": spec is not None,
                    "maps": maps,
                }
            ei = f.get(f"/{s}/Electron Image/Data")
            images = [
                k
                for k in _IMAGE_KINDS
                if isinstance(ei, h5py.Group) and isinstance(ei.get(k), h5py.Group) and len(ei[k])
            ]
            per_site[s] = {"detectors": dets, "images": images}
        first = per_site[sites[0]]
        return {
            "path": str(path),
            "format_version": _scalar(f, "Format Version"),
            "sites": sites,
            "detectors": list(first["detectors"]),
            "images": first["images"],
            "has_cube": any(d["has_cube"] for d in first["detectors"].values()),
            "per_site": per_site,
        }
