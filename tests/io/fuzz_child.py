"""Child process of ``test_fuzz.py``: load each file named on stdin and report, one JSON line
per file, what happened. A line ``{"begin": path}`` is printed (and flushed) before each load,
so the parent knows which file was being read if this process dies."""

from __future__ import annotations

import json
import sys

import numpy as np

from sigma._errors import SigmaError
from sigma.io import load


def main() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps({"begin": req["path"]}), flush=True)
        out = {"path": req["path"]}
        try:
            raw = load(req["path"], lazy=req.get("lazy", False), **req.get("kwargs", {}))
            data = np.asarray(raw.data)
            out["result"] = "loaded"
            out["consistent"] = bool(data.shape == tuple(raw.shape) and data.ndim == 3)
        except SigmaError as exc:
            out["result"] = "clean error"
            out["message"] = str(exc)
        except MemoryError as exc:  # a size field blown up: refused by the allocator
            out["result"] = "clean error"
            out["message"] = f"MemoryError: {exc}"
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            out["result"] = "raw exception"
            out["message"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
