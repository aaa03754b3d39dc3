"""Sphinx configuration of the SIGMA2 documentation.

Built by ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``). The
tutorial figures are produced while building, by the code shown on the pages
(``.. plot::`` directives running on the built-in synthetic phantom); the API pages are
written from the package itself by ``_ext/sigma_apigen.py`` and the command-line reference
from the command's own parser.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

# Quiet, reproducible figure code: no progress bars, a non-interactive backend.
os.environ.setdefault("SIGMA_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "agg")

from docs_figures import route_sigma_figures_to_pyplot  # noqa: E402

import sigma  # noqa: E402

route_sigma_figures_to_pyplot()
# Compiled UMAP code is reused by later builds (numba's on-disk cache).
from sigma.embedding.umap import enable_umap_numba_cache  # noqa: E402

enable_umap_numba_cache()

# The tutorial's autoencoder is tiny: one thread trains it as fast as several, and does not
# slow to a crawl when other processes share the cores.
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the torch extra is optional; autodoc then reports the missing module
    pass

project = "SIGMA2"
author = "the SIGMA2 developers"
copyright = "the SIGMA2 developers; GPL-3.0-or-later"  # noqa: A001
release = sigma.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
    "sphinxarg.ext",
    "sigma_apigen",
    "docs_output",
]

exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints"]
templates_path: list[str] = []
root_doc = "index"
language = "en"
pygments_style = "sphinx"

# ---------------------------------------------------------------- API reference
autosummary_generate = False  # pages are written by sigma_apigen
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # types are in the numpydoc sections
autodoc_default_options = {"exclude-members": "__init__, __weakref__, __dict__, __module__"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# ---------------------------------------------------------------- figures made while building
# Each tutorial page runs its code in one namespace (``:context:``); files the code writes
# (state files, masks, checkpoints) land in a scratch folder, never in the source tree.
_scratch = Path(tempfile.mkdtemp(prefix="sigma-docs-"))
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)  # ~50 MB of phantoms per build
plot_working_directory = str(_scratch)
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 96)]
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"
plot_rcparams = {"figure.dpi": 96, "savefig.bbox": "tight", "font.size": 9}
plot_apply_rcparams = True

# ---------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"SIGMA2 {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# No left sidebar on pages without sub-pages (only the API reference has them).
html_sidebars = {
    page: []
    for page in ("index", "installation", "jupyter", "tutorials/*", "own_data", "how_it_works", "cli")
}
html_static_path: list[str] = []
html_show_sourcelink = False
html_last_updated_fmt = None
