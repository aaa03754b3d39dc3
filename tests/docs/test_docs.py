"""The documentation: the site builds without warnings, its examples run, the API is documented.

* The Sphinx site is built once per session, warnings as errors (``-W --keep-going``); that run
  executes every ``.. plot::`` block of the tutorial pages on the synthetic phantom, writes the
  API pages from the package and the CLI page from ``build_parser()``.
* The docstring examples of every module of :mod:`sigma` run as doctests (what
  ``pytest --doctest-modules src/sigma`` would do), each module in a scratch folder.
* Every public function and class has a numpydoc docstring with an ``Examples`` section, and
  every public method or property of a public class has a docstring (the class's examples
  cover its methods). "Public" is defined once, in ``docs/_ext/public_api.py``, which also
  decides what the API reference shows, so the check and the reference cover the same names.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "agg")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "sigma"
sys.path.insert(0, str(DOCS / "_ext"))

import public_api  # noqa: E402

#: Modules whose doctests cannot run in the test environment, with the reason. Keep it empty
#: unless a module needs hardware or a service the tests cannot provide.
DOCTEST_IMPORT_ALLOWLIST: dict[str, str] = {}

#: Tutorial pages and how many figures each must produce at least (they come from ``.. plot::``).
TUTORIAL_FIGURES = {"tutorials/sem": 15, "tutorials/tem": 5, "own_data": 1, "how_it_works": 1}

#: API pages that must exist (the packages the tutorials and the issue name).
REQUIRED_API_PAGES = [
    "sigma.io",
    "sigma.xray",
    "sigma.preprocessing",
    "sigma.datasets",
    "sigma.embedding",
    "sigma.clustering",
    "sigma.unmixing",
    "sigma.synthetic",
    "sigma.plot",
    "sigma.gui.gui",
    "sigma.utils.load",
    "sigma.utils.normalisation",
    "sigma.src.segmentation",
    "sigma.src.dim_reduction",
    "sigma.src.utils",
    "sigma.models.autoencoder",
]


def _sphinx_available() -> bool:
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("sphinx", "numpydoc", "pydata_sphinx_theme", "sphinxarg")
    )


@pytest.fixture(scope="session")
def docs_build(tmp_path_factory):
    """Build the HTML site once (fresh environment, warnings as errors).

    ``--keep-going`` writes every page even when warnings make the build fail, so the tests of
    pages, figures and references below check their own subject whatever the warnings.
    """
    if not _sphinx_available():
        msg = "the docs extra is not installed: pip install -e '.[docs]'"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    out = tmp_path_factory.mktemp("docs")
    html, doctrees = out / "html", out / "doctrees"
    env = {**os.environ, "SIGMA_PROGRESS": "0", "MPLBACKEND": "agg"}
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        str(doctrees),
        str(DOCS),
        str(html),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    return proc, html


def _warnings(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.search(r"(WARNING|ERROR|CRITICAL|SEVERE)", ln)]


def test_docs_build_without_warnings(docs_build):
    proc, _ = docs_build
    found = _warnings(proc.stderr) + _warnings(proc.stdout)
    assert proc.returncode == 0 and not found, (
        f"sphinx-build exited {proc.returncode} with {len(found)} warning(s):\n"
        + "\n".join(found[:60])
        + "\n--- end of output ---\n"
        + proc.stderr[-3000:]
    )


def test_every_page_is_built(docs_build):
    _, html = docs_build
    for page in (
        "index",
        "installation",
        "jupyter",
        "tutorials/sem",
        "tutorials/tem",
        "own_data",
        "how_it_works",
        "api/index",
        "cli",
    ):
        assert (html / f"{page}.html").is_file(), page


@pytest.mark.parametrize("page, minimum", sorted(TUTORIAL_FIGURES.items()))
def test_tutorial_figures_are_made_by_the_build(docs_build, page, minimum):
    _, html = docs_build
    text = (html / f"{page}.html").read_text(encoding="utf-8")
    stem = Path(page).name
    images = set(re.findall(rf'src="[^"]*_images/({re.escape(stem)}-[0-9_]+\.png)"', text))
    assert len(images) >= minimum, f"{page}: {len(images)} generated figures, expected >= {minimum}"
    for name in images:
        assert (html / "_images" / name).stat().st_size > 2000, name


@pytest.mark.parametrize("module", REQUIRED_API_PAGES)
def test_api_reference_has_page(docs_build, module):
    _, html = docs_build
    page = html / "api" / "generated" / f"{module}.html"
    assert page.is_file(), f"no API page for {module}"
    text = page.read_text(encoding="utf-8")
    api = public_api.collect()
    for name in api.owned.get(module, []):
        assert f'id="{module}.{name}"' in text, f"{module}.{name} is not described on its page"


def test_cli_reference_lists_every_option(docs_build):
    from sigma.cli.main import build_parser

    _, html = docs_build
    text = (html / "cli.html").read_text(encoding="utf-8")
    sub_actions = [
        a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction"
    ]
    assert sub_actions
    for name, sub in sub_actions[0].choices.items():
        assert name in text
        for action in sub._actions:
            if action.help == "==SUPPRESS==":
                continue
            for opt in action.option_strings:
                assert opt in text, f"`sigma {name} {opt}` is missing from the CLI reference"


# --------------------------------------------------------------------------- doctests
def _all_module_names() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("modname", _all_module_names())
def test_docstring_examples_run(modname, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        module = importlib.import_module(modname)
    except Exception as exc:  # noqa: BLE001 - reported below
        if modname in DOCTEST_IMPORT_ALLOWLIST:
            pytest.skip(f"{modname}: {DOCTEST_IMPORT_ALLOWLIST[modname]}")
        raise AssertionError(f"{modname} does not import: {type(exc).__name__}: {exc}") from exc
    finder = doctest.DocTestFinder(exclude_empty=True)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failures = []
    for test in finder.find(module, modname):
        if not test.examples:
            continue
        runner = doctest.DocTestRunner(optionflags=flags, verbose=False)
        report = []
        runner.run(test, out=report.append)
        if runner.failures:
            failures.append("".join(report))
    assert not failures, (
        f"{len(failures)} failing docstring example(s) in {modname}:\n" + "\n".join(failures)
    )


# --------------------------------------------------------------------------- docstrings
_EXAMPLES = re.compile(r"^\s*Examples\s*\n\s*-{3,}\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def api():
    return public_api.collect()


def test_public_modules_import(api):
    assert not api.failed, f"public modules or names that fail to import: {api.failed}"


def _own_members(cls):
    """Public methods and properties defined in ``cls`` itself (not inherited)."""
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if inspect.isfunction(member) or isinstance(member, property):
            yield name, member


def test_public_functions_and_classes_have_examples(api):
    missing: dict[str, list[str]] = {}
    for mod, name, obj in api.objects():
        doc = inspect.getdoc(obj) or ""
        if not doc.strip():
            missing.setdefault(mod, []).append(f"{name} (no docstring)")
        elif not _EXAMPLES.search(doc):
            missing.setdefault(mod, []).append(f"{name} (no Examples section)")
    assert not missing, "public names without a docstring with Examples, by module:\n" + "\n".join(
        f"  {mod}: {', '.join(names)}" for mod, names in sorted(missing.items())
    )


def test_public_methods_have_docstrings(api):
    missing: dict[str, list[str]] = {}
    for mod, name, obj in api.objects():
        if not inspect.isclass(obj):
            continue
        for member_name, member in _own_members(obj):
            if not (inspect.getdoc(member) or "").strip():  # inherits a base class's docstring
                missing.setdefault(mod, []).append(f"{name}.{member_name}")
    assert not missing, "public methods/properties without a docstring, by module:\n" + "\n".join(
        f"  {mod}: {', '.join(names)}" for mod, names in sorted(missing.items())
    )
