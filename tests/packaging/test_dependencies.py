"""Every third-party module the package imports is a declared dependency (issue 14, item 11).

The imports are read from the source (``ast``), mapped to the distributions that provide them
(``importlib.metadata.packages_distributions``) and checked against ``pyproject.toml``: the
core ``dependencies`` or an extra. scikit-image and numba were once imported but undeclared.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "sigma"


def _name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def declared() -> tuple[set[str], set[str]]:
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in proj["dependencies"]}
    extras = {_name(r) for reqs in proj.get("optional-dependencies", {}).values() for r in reqs}
    return core, extras - {_name(proj["name"])}


def imported_modules() -> dict[str, list[str]]:
    """Top-level names imported anywhere in ``src/sigma`` -> files importing them."""
    out: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                out.setdefault(n.split(".")[0], []).append(str(path.relative_to(ROOT)))
    return out


def test_every_imported_module_is_declared():
    core, extras = declared()
    dists = metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    missing = {}
    for mod, files in sorted(imported_modules().items()):
        if mod in stdlib or mod == "sigma" or mod == "public_api":
            continue
        provided = {d.lower().replace("_", "-") for d in dists.get(mod, [])}
        if not provided:
            missing[mod] = f"not installed (imported by {files[0]})"
        elif not provided & (core | extras):
            missing[mod] = f"from {sorted(provided)}, not declared (imported by {files[0]})"
    assert not missing, missing


def test_no_module_imports_scikit_image():
    """The one image resampler is SciPy's; scikit-image is not a dependency."""
    assert "skimage" not in imported_modules()
