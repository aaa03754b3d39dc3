"""Layout of the H5OINA specification: constants and the small HDF5 helpers every part of the reader and the table of contents share."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import SigmaError, bad_file, bad_value

logger = logging.getLogger("sigma.io.h5oina")

SPEC = "the H5OINA specification (github.com/oinanoanalysis/h5oina, H5OINAFile.md)"
_EDS_RE = re.compile(r"^EDS(\d*)$")
_IMAGE_KINDS = ("BSE", "SE", "FSE")
# Spec: EDS > Data Group Specification, in the order the table lists them.
_MAP_GROUPS = (
    "Window Integral",
    "Peak Area",
    "Composition",
    "Composition Sigma",
    "Apparent Concentration",
    "K Ratio",
)
_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As "
    "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu "
    "Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np "
    "Pu Am Cm Bk Cf Es Fm Md No Lr"
).split()
_UM = "µm"




def _decode(value: Any) -> Any:
    """Turn an HDF5 value (bytes, 0-d/1-element array) into a plain Python scalar."""
    if isinstance(value, np.ndarray):
        if value.size == 1:
            value = value.reshape(-1)[0]
        else:
            return [_decode(v) for v in value.reshape(-1)]
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scalar(group, name: str, default: Any = None) -> Any:
    """Read a (1, 1) header dataset (any shape with one element is accepted)."""
    obj = group.get(name) if group is not None else None
    if obj is None or not hasattr(obj, "shape"):
        return default
    return _decode(obj[()])


def _required_scalar(group, name: str, path: Path) -> Any:
    value = _scalar(group, name)
    if value is None:
        raise bad_file(
            path,
            f"has no dataset '{group.name}/{name}'",
            f"a mandatory header dataset as defined in {SPEC}",
        )
    return value


def _require_group(f, name: str, path: Path):
    import h5py

    obj = f.get(name)
    if not isinstance(obj, h5py.Group):
        raise bad_file(path, f"has no group '{name}'", f"that group as defined in {SPEC}")
    return obj


def _check_path(path) -> Path:
    import h5py

    p = Path(path)
    if not p.exists():
        raise bad_file(p, "does not exist", "an existing .h5oina file")
    if not p.is_file():
        raise bad_file(p, "is not a regular file", "an .h5oina file")
    if not h5py.is_hdf5(p):
        raise bad_file(p, "is not an HDF5 file", "an Oxford Instruments .h5oina file (HDF5)")
    return p


@contextlib.contextmanager
def _open(path: Path) -> Iterator[Any]:
    """Open read-only, turning HDF5 errors (truncated, corrupt) into a file error."""
    import h5py

    try:
        f = h5py.File(path, "r")
    except (OSError, RuntimeError) as exc:  # HDF5 reports some corrupt tables as RuntimeError
        raise bad_file(
            path,
            f"could not be opened as HDF5, it may be truncated or corrupt ({exc})",
            "a complete .h5oina file",
        ) from exc
    try:
        yield f
    except SigmaError:
        raise
    except (OSError, KeyError, RuntimeError) as exc:
        raise bad_file(
            path,
            f"could not be read, it may be truncated or corrupt ({exc})",
            "a complete .h5oina file",
        ) from exc
    finally:
        f.close()


def _natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _sites(f, path: Path) -> list[str]:
    """Slice group names (Spec: Root Level ``Index``, Slice Group Specification)."""
    import h5py

    names: list[str] = []
    if "Index" in f and isinstance(f["Index"], h5py.Dataset):
        listed = _decode(f["Index"][()])
        listed = listed if isinstance(listed, list) else [listed]
        names = [str(n) for n in listed if isinstance(f.get(str(n)), h5py.Group)]
    if not names:
        names = sorted(
            (k for k, v in f.items() if isinstance(v, h5py.Group) and k.isdigit()),
            key=_natural_key,
        )
    if not names:
        raise bad_file(
            path,
            "has no slice group (such as '/1') at its root",
            f"an .h5oina file laid out as in {SPEC}, section 'Slice Group Specification'",
        )
    return names


def _detectors(site_group) -> list[str]:
    """EDS technique groups: ``EDS`` or ``EDS1``, ``EDS2``... (Spec: Slice, version 6.0)."""
    return sorted((k for k in site_group if _EDS_RE.match(k)), key=_natural_key)


def _resolve_site(f, path: Path, site) -> str:
    available = _sites(f, path)
    if site is None:
        return available[0]
    key = str(site)
    if key not in available:
        raise bad_value("site", site, f"one of the slices {available} stored in file '{path}'")
    return key


def _resolve_detector(f, path: Path, site: str, detector) -> str:
    available = _detectors(f[site])
    if not available:
        raise bad_file(
            path,
            f"has no group '/{site}/EDS' (nor '/{site}/EDS1', '/{site}/EDS2', ...)",
            f"an EDS technique group as defined in {SPEC}, section 'EDS Technique'",
        )
    if detector is None:
        return available[0]
    if str(detector) not in available:
        raise bad_value(
            "detector",
            detector,
            f"one of the EDS detectors {available} of site '{site}' in file '{path}'",
        )
    return str(detector)


def _header_dict(header) -> dict[str, Any]:
    """Small header datasets as a flat, JSON-friendly dict."""
    import h5py

    out: dict[str, Any] = {}
    if header is None:
        return out
    for name, obj in header.items():
        if isinstance(obj, h5py.Dataset) and obj.size <= 4:
            out[name] = _decode(obj[()])
    return out


def _hyperspy_line(symbol: str, line: str) -> str:
    """``('Fe', 'Ka1')`` → ``'Fe_Ka'``; ``('Al', 'K series')`` → ``'Al_Ka'``."""
    line = line.strip()
    m = re.match(r"^([KLMN])\s*series$", line, flags=re.IGNORECASE)
    if m:
        return f"{symbol}_{m.group(1).upper()}a"
    return f"{symbol}_{re.sub(r'[0-9,]+$', '', line.replace(' ', ''))}"


def _map_datasets(data_group) -> tuple[str | None, list[str]]:
    """First non-empty element-map group of an EDS Data group and its dataset names."""
    import h5py

    for gname in _MAP_GROUPS:
        g = data_group.get(gname)
        if isinstance(g, h5py.Group):
            names = [k for k, v in g.items() if isinstance(v, h5py.Dataset)]
            if names:
                return gname, names
    return None, []


def _elements_and_lines(data_group) -> tuple[list[str], list[str]]:
    """Elements and HyperSpy line names from the map attributes (Spec: EDS > Data Group)."""
    import h5py

    elements: list[str] = []
    lines: list[str] = []
    for gname in _MAP_GROUPS:
        g = data_group.get(gname)
        if not isinstance(g, h5py.Group):
            continue
        for name, ds in g.items():
            if not isinstance(ds, h5py.Dataset):
                continue
            z = _decode(ds.attrs.get("Atomic Number"))
            symbol = (
                _SYMBOLS[int(z) - 1]
                if isinstance(z, int | float) and 1 <= z <= len(_SYMBOLS)
                else name.split()[0]
            )
            if symbol not in elements:
                elements.append(symbol)
            xline = _decode(ds.attrs.get("X-ray Line"))
            if isinstance(xline, str) and xline:
                hl = _hyperspy_line(symbol, xline)
                if hl not in lines:
                    lines.append(hl)
    return elements, lines
