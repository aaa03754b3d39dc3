"""Sphinx extension: write one API page per public module of :mod:`sigma` before reading.

Pages go to ``docs/api/generated/`` (not committed; rewritten only when their text changes, so
incremental builds stay incremental). Each object is described once, on the page of its home
module (see :mod:`public_api`); re-export modules such as the tutorial's ``sigma.utils.load``
get a page that links to the homes.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import public_api

#: Order of the sections of the API index (top-level package -> heading).
SECTIONS = [
    ("sigma.io", "Reading files"),
    ("sigma.xray", "X-ray lines"),
    ("sigma.preprocessing", "Pre-processing kernels"),
    ("sigma.datasets", "Dataset objects"),
    ("sigma.embedding", "Latent spaces"),
    ("sigma.clustering", "Clustering"),
    ("sigma.unmixing", "Unmixing"),
    ("sigma.synthetic", "Synthetic data"),
    ("sigma.plot", "Figures"),
    ("sigma.gui", "Jupyter widgets"),
    ("sigma.pipeline", "Pipeline"),
    ("sigma.report", "Report"),
    ("sigma.cli", "Command line (Python side)"),
    ("sigma.utils", "Tutorial import paths"),
    ("sigma.src", "Tutorial import paths"),
    ("sigma.models", "Tutorial import paths"),
]


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def _inherit_ok(cls) -> bool:
    """Show inherited members only when every base class is ours (not torch, sklearn...)."""
    bases = [b for b in cls.__mro__[1:] if b is not object]
    return bool(bases) and all(
        (b.__module__ or "").startswith(public_api.ROOT + ".") for b in bases
    )


def module_page(api: public_api.Api, modname: str) -> str:
    mod = api.modules[modname]
    owned = api.owned.get(modname, [])
    reexp = api.reexports.get(modname, [])
    out = [_title(f"``{modname}``")]
    out.append(f".. automodule:: {modname}\n   :no-members:\n")
    out.append(f".. currentmodule:: {modname}\n")
    if owned:
        out.append(".. rubric:: Contents\n")
        out.append(".. autosummary::\n")
        out.extend(f"   {n}" for n in owned)
        out.append("")
    if reexp:
        out.append(".. rubric:: Also importable from here\n")
        for name, target in reexp:
            out.append(f"* ``{modname}.{name}`` is :py:obj:`{target}`")
        out.append("")
    for name in owned:
        obj = getattr(mod, name)
        if inspect.isclass(obj):
            opts = ["   :members:", "   :show-inheritance:"]
            if _inherit_ok(obj):
                opts.append("   :inherited-members:")
            out.append(f".. autoclass:: {name}\n" + "\n".join(opts) + "\n")
        else:
            out.append(f".. autofunction:: {name}\n")
    return "\n".join(out).rstrip() + "\n"


def _section_of(modname: str) -> str:
    for prefix, heading in SECTIONS:
        if modname == prefix or modname.startswith(prefix + "."):
            return heading
    return "Package"


def index_include(pages: list[str]) -> str:
    groups: dict[str, list[str]] = {}
    for name in pages:
        groups.setdefault(_section_of(name), []).append(name)
    order = ["Package"] + list(dict.fromkeys(h for _, h in SECTIONS))
    out = []
    for heading in order:
        names = groups.get(heading)
        if not names:
            continue
        out.append(_title(heading, "-"))
        out.append(".. toctree::\n   :maxdepth: 1\n")
        out.extend(f"   generated/{n}" for n in names)
        out.append("")
    return "\n".join(out)


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(srcdir: Path) -> public_api.Api:
    """Write ``api/generated/*.rst`` and ``api/generated/modules.inc``; return the API."""
    api = public_api.collect()
    if api.failed:
        raise RuntimeError(f"public modules failed to import: {api.failed}")
    outdir = Path(srcdir) / "api" / "generated"
    outdir.mkdir(parents=True, exist_ok=True)
    pages = []
    for modname, mod in api.modules.items():
        if not (
            api.owned.get(modname) or api.reexports.get(modname) or (mod.__doc__ or "").strip()
        ):
            continue
        pages.append(modname)
        _write(outdir / f"{modname}.rst", module_page(api, modname))
    for stale in outdir.glob("*.rst"):
        if stale.stem not in pages:
            stale.unlink()
    _write(outdir / "modules.inc", index_include(pages))
    _write(outdir / "cli_epilogs.inc", cli_epilogs())
    return api


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def cli_parser_for_docs():
    """:func:`sigma.cli.main.build_parser` without the sub-commands' epilogs.

    The epilogs are preformatted text that sphinx-argparse would parse as reST; the page shows
    them verbatim instead (:func:`cli_epilogs`).
    """
    from sigma.cli.main import build_parser

    parser = build_parser()
    for _name, sub in _subparsers(parser):
        sub.epilog = None
    return parser


def cli_epilogs() -> str:
    """The closing notes of each sub-command's ``--help`` (sphinx-argparse leaves them out)."""
    from sigma.cli.main import build_parser

    out = []
    for name, sub in _subparsers(build_parser()):
        if sub.epilog:
            out.append(_title(f"Notes of ``sigma {name} --help``", "-"))
            out.append(".. code-block:: text\n")
            out.extend(f"   {line}".rstrip() for line in sub.epilog.rstrip().splitlines())
            out.append("")
    return "\n".join(out)


def _on_builder_inited(app) -> None:
    generate(Path(app.srcdir))


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
