#!/usr/bin/env bash
# Build the wheel with `python -m build`, install it (not editable, with the gui extra) into a
# fresh virtual environment and check that it works on its own: the data files of every
# sigma/**/data folder are inside, `sigma demo` runs on a tiny phantom, the tutorial's imports
# work. Run from the repository root: `bash .ci/wheel_smoke.sh` (also `make smoke-wheel`).
# Dependencies come from pip's cache (filled by `make env`), so the install downloads little.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sigma-wheel-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

"$PY" -m pip install -q build >"$WORK/pip.log" 2>&1 || { tail -40 "$WORK/pip.log"; exit 1; }
"$PY" -m build --wheel --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/*.whl)
echo "wheel-smoke: built $(basename "$WHEEL")"

# every data file of the source tree is in the wheel
"$PY" - "$WHEEL" <<'PYEOF'
import sys, zipfile
from pathlib import Path
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
src = Path("src")
want = sorted(str(p.relative_to(src)) for p in src.glob("sigma/**/data/**/*") if p.is_file()
              and "__pycache__" not in p.parts)
missing = [w for w in want if w not in names]
assert not missing, f"data files missing from the wheel: {missing}"
assert "sigma/py.typed" in names
print(f"wheel-smoke: {len(want)} data file(s) packaged")
PYEOF

"$PY" -m venv "$WORK/venv"
V="$WORK/venv/bin"
"$V/python" -m pip install -q --upgrade pip >"$WORK/pip.log" 2>&1 || { tail -40 "$WORK/pip.log"; exit 1; }
"$V/python" -m pip install -q "$WHEEL[gui]" >>"$WORK/pip.log" 2>&1 || { tail -40 "$WORK/pip.log"; exit 1; }
echo "wheel-smoke: installed into a fresh venv"

cd "$WORK"  # away from the source tree: only the installed package can be imported
env -u PYTHONPATH SIGMA_PROGRESS=0 MPLBACKEND=agg "$V/python" -W ignore - <<'PYEOF'
import importlib.metadata as md
from pathlib import Path
import sigma
assert "site-packages" in sigma.__file__, sigma.__file__
assert sigma.__version__ == md.version("sigma2-eds"), sigma.__version__
# the tutorial's imports, as written in it
from umap import UMAP  # noqa: F401
from sigma.utils import normalisation as norm  # noqa: F401
from sigma.utils.load import SEMDataset  # noqa: F401
from sigma.src.segmentation import PixelSegmenter  # noqa: F401
from sigma.gui import gui  # noqa: F401
print("wheel-smoke: sigma", sigma.__version__, "imports from", Path(sigma.__file__).parent)
PYEOF
env -u PYTHONPATH SIGMA_PROGRESS=0 MPLBACKEND=agg PYTHONWARNINGS=ignore "$V/sigma" -q demo --out "$WORK/demo" --size 24 32
test -s "$WORK/demo/phantom/report.html"
test -s "$WORK/demo/phantom/labels.npy"
echo "wheel-smoke: sigma demo wrote $(ls "$WORK/demo/phantom" | wc -l) outputs"
echo "wheel-smoke: 1 passed, 0 failed"
