"""Which names of :mod:`sigma` are public, and which module documents each of them.

Shared by the Sphinx build (``sigma_apigen`` writes one API page per module from it) and by
``tests/docs/test_docs.py`` (every public function and class needs a docstring with an
``Examples`` section), so the reference and the docstring check always cover the same names.

Rules
-----
* A module is public when no part of its dotted name starts with an underscore.
* A module's public names are its ``__all__`` when it has one, otherwise the names without a
  leading underscore whose object was defined in that module.
* An object is documented once, in its *home*: the shallowest public module on the path of its
  defining module that exports it (``sigma.clustering`` for ``PixelSegmenter``, defined in
  ``sigma.clustering.segmenter``). An object defined in a private module (``sigma.io._types``)
  has its home in the public package that re-exports it.
* Modules that only re-export (the tutorial paths ``sigma.utils.load``, ``sigma.src.*``,
  ``sigma.models.*``) own nothing; their pages link to the homes.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from types import ModuleType

ROOT = "sigma"


def is_public_module(name: str) -> bool:
    """True when no component of the dotted ``name`` starts with an underscore."""
    return not any(part.startswith("_") for part in name.split("."))


def iter_module_names(root: str = ROOT, public_only: bool = False) -> list[str]:
    """Every module and package under ``root`` (found on disk, packages imported to recurse)."""
    pkg = importlib.import_module(root)
    names = [root]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=root + ".", onerror=lambda _n: None):
        names.append(info.name)
    names = sorted(set(names))
    if public_only:
        names = [n for n in names if is_public_module(n)]
    return names


def public_names(module: ModuleType) -> list[str]:
    """``__all__``, or the non-underscore names defined in the module itself."""
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return [str(n) for n in exported]
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_"):
            continue
        if getattr(obj, "__module__", None) == module.__name__ and (
            inspect.isfunction(obj) or inspect.isclass(obj)
        ):
            out.append(name)
    return sorted(out)


def is_api_object(obj) -> bool:
    """Functions and classes defined somewhere in :mod:`sigma`."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return False
    mod = getattr(obj, "__module__", "") or ""
    return mod == ROOT or mod.startswith(ROOT + ".")


def _ancestors(modname: str) -> list[str]:
    parts = modname.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@dataclass
class Api:
    """The public API: modules, what each owns, what each only re-exports, import failures."""

    modules: dict[str, ModuleType] = field(default_factory=dict)
    owned: dict[str, list[str]] = field(default_factory=dict)
    reexports: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def objects(self):
        """``(home_module, name, object)`` for every owned function and class."""
        for mod, names in self.owned.items():
            for name in names:
                yield mod, name, getattr(self.modules[mod], name)


def _exports(modules: dict[str, ModuleType], modname: str, name: str, obj) -> bool:
    mod = modules.get(modname)
    if mod is None or name not in public_names(mod):
        return False
    try:
        return getattr(mod, name) is obj
    except AttributeError:
        return False


def collect(root: str = ROOT) -> Api:
    """Import every public module and assign each public function/class to its home."""
    api = Api()
    for name in iter_module_names(root, public_only=True):
        try:
            api.modules[name] = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            api.failed[name] = f"{type(exc).__name__}: {exc}"
    for modname, mod in api.modules.items():
        api.owned.setdefault(modname, [])
        api.reexports.setdefault(modname, [])
        for name in public_names(mod):
            try:
                obj = getattr(mod, name)
            except AttributeError as exc:
                api.failed[f"{modname}.{name}"] = f"AttributeError: {exc}"
                continue
            if not is_api_object(obj):
                continue
            home = None
            for cand in _ancestors(obj.__module__):
                if f"{cand}.{name}" in api.modules:
                    continue  # sigma.cli.main the function would shadow sigma.cli.main the module
                if is_public_module(cand) and _exports(api.modules, cand, name, obj):
                    home = cand
                    break
            if home is None:
                home = modname
            if home == modname:
                if name not in api.owned[modname]:
                    api.owned[modname].append(name)
            else:
                api.reexports[modname].append((name, f"{home}.{name}"))
    return api
