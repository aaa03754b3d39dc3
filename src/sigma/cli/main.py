"""The ``sigma`` command line.

Commands
--------
``sigma demo [--out DIR] [--overwrite]``
    The whole tutorial pipeline on a built-in synthetic phantom; prints where the report is.
``sigma run INPUT... --config CONFIG.toml --out DIR [options]``
    The pipeline on each input; with ``--shared-phases`` one latent space and one clustering
    for all inputs (cluster *k* is the same phase in every map). Options: ``--overwrite``,
    ``--shared-phases``, ``--workers N`` or ``--scheduler tcp://HOST:PORT``.
``sigma config --example``
    Print a documented example configuration (every option at its default).
``sigma info FILE``
    Shape, energy calibration, pixel size, beam energy, elements and navigation images.

Global options ``--quiet`` (warnings only, no progress bars) and ``--verbose`` (debug logs).

Scale-out: ``--workers N`` starts a local dask.distributed cluster of N processes on
127.0.0.1; ``--scheduler tcp://HOST:8786`` uses a cluster that is already running (start one
with ``dask scheduler`` and ``dask worker tcp://HOST:8786`` on each node, or take the
``scheduler_address`` of a dask-jobqueue / dask-gateway cluster). Workers need SIGMA2 installed
and the input files under the same paths. See :mod:`sigma.pipeline.scaleout`.

Exit codes: 0 success; 1 some inputs failed or stopped at a later stage (summary printed; a
"partial" input keeps the outputs of the stages before the failed one) or an error; 2 bad usage
or configuration; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM): no partial outputs are
left.

Examples
--------
>>> main(["config", "--example"])  # doctest: +ELLIPSIS
# SIGMA2 pipeline configuration: ...
0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from .._errors import SigmaError

log = logging.getLogger("sigma.cli")

__all__ = ["build_parser", "main"]

_EPILOG_RUN = """\
scale-out:
  --workers N starts a dask.distributed LocalCluster of N worker processes on 127.0.0.1 for
  the run; --scheduler tcp://HOST:8786 connects to an existing cluster, e.g. one started with
      dask scheduler --port 8786            (head node)
      dask worker tcp://HOST:8786           (each compute node)
  or the scheduler_address of a dask-jobqueue / dask-gateway cluster. Workers need SIGMA2
  installed and must see the input files under the same paths. Loading, binning, spectrum
  normalisation and feature maps run chunked on the cluster; the rest runs here. A .bcf
  cannot be decoded by parts: one worker decodes the whole cube, then its rows spread out.

outputs (OUT/<input stem>/): phase_map.png, labels.npy, labels.tiff, masks/, cluster_spectra.csv
  (mean over each cluster's pixels), cluster_core_spectra.csv (over its pixels whose 8 neighbours
  share its label: no boundary mixing), cluster_pure_spectra.csv (SEM maps: over all its pixels,
  each rim pixel less its neighbour's fitted share), cluster_net_spectra.csv (TEM maps: the core spectra
  less the support film and, for a core-shell core, its shell), nmf_weights.csv, nmf_components.csv,
  abundance_maps.npy/.png, phase_proportions.csv, segmenter_state.*, run.json, report.html; with --shared-phases also OUT/shared_proportions.csv.
"""


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sigma`` command.

    Returns
    -------
    argparse.ArgumentParser
        Sub-commands ``demo``, ``run``, ``config`` and ``info``; also used to write the CLI
        reference of the documentation.

    Examples
    --------
    >>> args = build_parser().parse_args(["info", "map.hspy"])
    >>> args.command, str(args.file), args.json
    ('info', 'map.hspy', False)
    """
    def verbosity(default):
        parent = argparse.ArgumentParser(add_help=False)
        g = parent.add_mutually_exclusive_group()
        g.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="warnings and errors only, no progress bars")
        g.add_argument("-v", "--verbose", action="store_true", default=default, help="debug logging")
        return parent

    # the sub-commands' copies default to SUPPRESS so `sigma -q run ...` is not undone
    common = verbosity(argparse.SUPPRESS)
    p = argparse.ArgumentParser(
        prog="sigma", description="SIGMA2: phase maps from EDS spectrum images.",
        parents=[verbosity(False)],
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("demo", parents=[common], help="run the whole pipeline on a built-in phantom",
                       description="Run the tutorial's pipeline end to end on a synthetic phantom "
                       "with known phases, and write every output and an HTML report.")
    d.add_argument("--out", default="demo_output", type=Path, help="output folder (default: %(default)s)")
    d.add_argument("--overwrite", action="store_true",
                   help="replace OUT/phantom when an earlier SIGMA2 run wrote it")
    d.add_argument("--size", type=int, nargs=2, default=(96, 128), metavar=("H", "W"),
                   help="phantom size in pixels (default: %(default)s)")
    d.add_argument("--config", type=Path, help="TOML configuration overriding the demo's")

    r = sub.add_parser("run", parents=[common], help="run the pipeline on input files",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG_RUN,
                       description="Run the pipeline (load, pre-process, features, latent space, "
                       "clustering, NMF, outputs, report) on every input.")
    r.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="data files (.bcf, .emi, .hspy, .rpl, .h5oina ...)")
    r.add_argument("--config", type=Path, help="TOML configuration (see `sigma config --example`); defaults if omitted")
    r.add_argument("--out", required=True, type=Path, help="output folder")
    r.add_argument("--overwrite", action="store_true",
                   help="replace OUT/<stem> folders written by an earlier SIGMA2 run (a folder "
                   "holding any other file is never replaced)")
    r.add_argument("--shared-phases", action="store_true",
                   help="one latent space and clustering across all inputs (same cluster id = same phase)")
    sg = r.add_mutually_exclusive_group()
    sg.add_argument("--workers", type=_positive_int, metavar="N",
                    help="start a local dask.distributed cluster of N workers")
    sg.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing dask.distributed scheduler")

    c = sub.add_parser("config", parents=[common], help="print an example configuration",
                       description="Print a documented TOML configuration holding every option.")
    c.add_argument("--example", action="store_true", required=True, help="print the example TOML")

    i = sub.add_parser("info", parents=[common], help="describe a data file",
                       description="Shape, energy calibration, pixel size, beam energy, elements, "
                       "lines and navigation images of a data file (read lazily).")
    i.add_argument("file", type=Path, help="data file")
    i.add_argument("--site", help="site (slice) of an .h5oina file")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record, not at set-up.

    ``main()`` is also called in-process (tests, notebooks with ``%run``); a handler bound to
    the stderr of the first call would write to a closed stream afterwards.
    """

    def emit(self, record):
        self.stream = sys.stderr
        super().emit(record)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger("sigma")
    root.setLevel(level)
    if not any(getattr(h, "_sigma_cli", False) for h in root.handlers):
        h = _StderrHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        h._sigma_cli = True
        root.addHandler(h)
    for h in root.handlers:
        if getattr(h, "_sigma_cli", False):
            h.setLevel(level)
    if quiet:
        os.environ["SIGMA_PROGRESS"] = "0"
    # eXSpy imports classes from HyperSpy paths HyperSpy has deprecated; the three warnings
    # on every run are about those two libraries, not about the user's data or command
    warnings.filterwarnings("ignore", message=r"Importing `Lazy\w*Signal1D` from `hyperspy\._signals")
    for noisy in ("distributed", "numba", "hyperspy", "rsciio", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def _cmd_config(args) -> int:
    from ..pipeline.config import example_toml

    sys.stdout.write(example_toml())
    return 0


def _cmd_info(args) -> int:
    from .info import describe, format_info

    kw = {}
    if args.site is not None:
        kw["site"] = int(args.site) if args.site.isdigit() else args.site
    info = describe(args.file, **kw)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        print(format_info(info))
    return 0


def _print_summary(results, out: Path) -> int:
    partial = [r for r in results if not r.ok and r.partial]
    failed = [r for r in results if not r.ok and not r.partial]
    for r in results:
        if r.ok:
            print(f"done    {r.input}: {r.out_dir}" + (f" (report: {r.report})" if r.report else ""))
    for r in partial:
        print(f"PARTIAL {r.input}: {r.out_dir} holds the outputs of the stages before "
              f"{r.failed_stage!r}, which failed: {r.error.split(' failed: ', 1)[-1]}",
              file=sys.stderr)
    for r in failed:
        print(f"FAILED  {r.input}: {r.error}", file=sys.stderr)
    n = len(results)
    part = f", {len(partial)} partial" if partial else ""
    print(f"{n - len(failed) - len(partial)} of {n} input(s) done{part}, {len(failed)} failed; "
          f"outputs in {out}")
    return 1 if failed or partial else 0


def _cmd_run(args) -> int:
    from ..pipeline.config import default_config, load_config
    from ..pipeline.runner import run_batch

    cfg = load_config(args.config) if args.config else default_config()
    results = run_batch(
        args.inputs, cfg, args.out, overwrite=args.overwrite, shared_phases=args.shared_phases,
        workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
        config_path=args.config,
    )
    return _print_summary(results, args.out)


def _cmd_demo(args) -> int:
    from ..pipeline.demo import run_demo

    result = run_demo(args.out, overwrite=args.overwrite, size=tuple(args.size),
                      config_path=args.config, progress=not args.quiet)
    if not result.ok:
        print(f"demo failed: {result.error}", file=sys.stderr)
        return 1
    print(f"Demo outputs: {result.out_dir}")
    print(f"Report:       {result.report}")
    return 0


class Terminated(BaseException):  # noqa: N818 - named after the signal's meaning
    """Raised in the main thread on SIGTERM, so that every ``with``/``finally`` block runs
    (staging folders are removed) before the command exits with status 143."""


@contextlib.contextmanager
def _sigterm_unwinds():
    """Turn SIGTERM into :class:`Terminated` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


_COMMANDS = {"config": _cmd_config, "info": _cmd_info, "run": _cmd_run, "demo": _cmd_demo}


def main(argv=None) -> int:
    """Entry point of ``sigma`` / ``python -m sigma``; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (see the module documentation).

    Examples
    --------
    >>> import os, tempfile
    >>> from sigma.synthetic import make_phantom
    >>> ph = make_phantom((4, 5), n_channels=64, energy_scale=0.2)
    >>> p = ph.save_hspy(os.path.join(tempfile.mkdtemp(), "ph.hspy"))
    >>> main(["info", str(p), "--json"])  # doctest: +ELLIPSIS
    {...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.quiet, args.verbose)
    from ..pipeline.config import ConfigError

    try:
        with _sigterm_unwinds():
            rc = _COMMANDS[args.command](args)
            sys.stdout.flush()  # a closed pipe (`sigma info F | head`) shows up here
            return rc
    except BrokenPipeError:
        # the reader of our output went away: say nothing more, as `cat F | head` does
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("interrupted: partial outputs were removed", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated (SIGTERM): partial outputs were removed", file=sys.stderr)
        return 143
    except ConfigError as exc:
        print(f"sigma {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except SigmaError as exc:
        print(f"sigma {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"sigma {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen file: say so, exit 1
        log.debug("unexpected error", exc_info=True)
        print(f"sigma {args.command}: error: {type(exc).__name__}: {exc} (run with --verbose "
              "for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
