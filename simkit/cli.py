"""The ``simkit`` command line: argument parsing, terminal tables and exit codes.

Only the standard library is imported at start-up; each command imports what it needs, so
``simkit --help`` and ``simkit validate`` answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._version import __version__

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity, which container limits set),
    the command's default ``--workers``: results do not depend on the number of processes,
    so the command uses what it has. The library's ``workers`` stays 1 by default: a
    function call should not start processes unasked."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--draws", type=_positive_int, help="number of simulated futures (default: the scenario's)")
    parser.add_argument("--seed", type=_non_negative_int, help="random seed (default: the scenario's)")
    parser.add_argument("--workers", type=_positive_int, default=available_cores(),
                        help="processes to use, for the simulation and the charts (default: the cores "
                        f"simkit may use here, {available_cores()}); results are the same whatever the number")
    parser.add_argument("--out", type=Path, help="output folder (default: reports/<scenario name>/)")


def _add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run draw blocks on a dask.distributed cluster: a scheduler address "
                        "(tcp://host:8786) or 'local' for a local cluster of --workers processes "
                        "(needs simkit[distributed]); results are identical to a single process")


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simkit",
        description="Monte Carlo toolkit for SaaS segment economics: bands for LTV:CAC, CAC payback, "
        "ARR and cash, and the probability that each segment clears its health thresholds.",
    )
    parser.add_argument("--version", action="version", version=f"simkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="simulate a scenario and write results and the board pack")
    run.add_argument("scenario", type=Path, help="scenario file (.toml)")
    _add_run_options(run)
    run.add_argument("--no-pack", action="store_true", help="write results only, no charts")
    _add_scheduler_option(run)

    report = commands.add_parser("report", help="re-render the board pack from saved results.nc")
    report.add_argument("results", type=Path, help="results.nc written by 'simkit run'")
    report.add_argument("--out", type=Path, help="output folder (default: the folder of results.nc)")
    report.add_argument("--workers", type=_positive_int, default=available_cores(),
                        help=f"processes to render the charts with (default: the cores simkit may use here, "
                        f"{available_cores()}); the files are the same whatever the number")

    stress = commands.add_parser("stress", help="standard shocks and the scenario's own stresses, with common "
                                 "random numbers")
    stress.add_argument("scenario", type=Path, help="scenario file (.toml)")
    stress.add_argument("--suite", default="standard", help="built-in suite: 'standard' or 'none' (default standard)")
    stress.add_argument("--target", type=_probability, default=0.5,
                        help="flag thresholds whose probability falls below this (default 0.5)")
    stress.add_argument("--reverse", action="append", default=[], metavar="SEGMENT:INPUT",
                        help="reverse stress test: smallest scale of INPUT (dotted path, wildcards allowed) at "
                        "which SEGMENT stops clearing --threshold with probability --target; repeatable")
    stress.add_argument("--threshold", default="ltv_cac_min", help="threshold for --reverse (default ltv_cac_min)")
    stress.add_argument("--frontier", metavar="SEGMENT[:X_INPUT*V,V,..:Y_INPUT+V,V,..]",
                        help="add a frontier page: P(SEGMENT clears --threshold) over a grid of two shocks; "
                        "SEGMENT alone = its motion's conversion x0.5..x1 against its sales cycle +0..6 months; "
                        "'*' scales an input by each value, '+' shifts it")
    _add_run_options(stress)

    compare = commands.add_parser("compare", help="compare plans on paired draws: P(B beats A)")
    compare.add_argument("scenarios", nargs="+", type=Path, help="two or more scenario files; the first is the "
                         "reference")
    _add_run_options(compare)

    batch = commands.add_parser("batch", help="every scenario of a folder: results, pack and an index page")
    batch.add_argument("sources", nargs="+", type=Path, help="scenario files and/or folders of .toml files")
    _add_run_options(batch)
    batch.add_argument("--no-pack", action="store_true", help="results only, no charts")
    _add_scheduler_option(batch)

    validate = commands.add_parser("validate", help="check scenario files; nothing is simulated")
    validate.add_argument("scenarios", nargs="+", type=Path, help="scenario files")

    economics = commands.add_parser("economics", help="the deterministic view of a scenario at its expected inputs")
    economics.add_argument("scenario", type=Path, help="scenario file (.toml)")
    economics.add_argument("--worked-examples", action="store_true",
                           help="also print the source articles' worked examples")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handler = {
        "validate": _cmd_validate,
        "economics": _cmd_economics,
        "run": _cmd_run,
        "report": _cmd_report,
        "stress": _cmd_stress,
        "compare": _cmd_compare,
        "batch": _cmd_batch,
    }[args.command]
    from .errors import SimkitError

    try:
        return handler(args)
    except SimkitError as exc:
        print(f"simkit {args.command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("simkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `simkit ... | head`: the reader left; nothing more to say, and nowhere to say it.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_INVALID
    except OSError as exc:
        # A file simkit had to read or write (disk full, permissions, a path under a file).
        where = f" {exc.filename}" if exc.filename else ""
        print(f"simkit {args.command}: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except MemoryError:
        print(f"simkit {args.command}: ran out of memory; try fewer --draws", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:
        # A bug, not a bad input: say so in one line (a CFO's terminal is no place for a
        # traceback); SIMKIT_DEBUG=1 shows the traceback for the bug report.
        if os.environ.get("SIMKIT_DEBUG"):
            raise
        print(f"simkit {args.command}: internal error ({type(exc).__name__}: {exc}); this is a bug in simkit, "
              "please report it (set SIMKIT_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 3  # a bug in simkit, not a bad input: distinct from 1 (invalid) and 2 (usage)


def _cmd_validate(args) -> int:
    from .scenario.load import validate_file

    failed = 0
    for path in args.scenarios:
        problems = validate_file(path)
        if problems:
            failed += 1
            count = len(problems)
            print(f"{path}: {count} problem{'s' if count != 1 else ''}")
            for problem in problems:
                print(f"  - {problem.path or '(file)'}: {problem.message}")
        else:
            print(f"{path}: ok")
    if len(args.scenarios) > 1:
        print(f"{len(args.scenarios) - failed} valid, {failed} invalid")
    return EXIT_INVALID if failed else EXIT_OK


def _cmd_economics(args) -> int:
    from . import economics
    from .scenario.load import load

    scenario = load(args.scenario)
    rows = economics.scenario_economics(scenario)
    print(f"{scenario.name}: expected economics at the mean of every input (no randomness)")
    print(economics.format_economics(rows, currency=scenario.currency))
    if args.worked_examples:
        print()
        print(economics.format_worked_examples())
    return EXIT_OK


def _cmd_run(args) -> int:
    from .run import run_scenario

    return run_scenario(
        args.scenario, draws=args.draws, seed=args.seed, workers=args.workers, out=args.out,
        pack=not args.no_pack, progress=_show_progress(), scheduler=args.scheduler,
    )


def _cmd_report(args) -> int:
    from .run import render_report

    return render_report(args.results, out=args.out, workers=args.workers)


def _cmd_stress(args) -> int:
    from .run import run_stress

    return run_stress(args.scenario, suite=None if args.suite == "none" else args.suite, target=args.target,
                      reverse=args.reverse, threshold=args.threshold, draws=args.draws, seed=args.seed,
                      workers=args.workers, out=args.out, frontier=args.frontier)


def _cmd_compare(args) -> int:
    from .run import run_compare

    if len(args.scenarios) < 2:
        print("simkit compare: give at least two scenario files (the first is the reference)", file=sys.stderr)
        return EXIT_USAGE
    return run_compare(args.scenarios, draws=args.draws, seed=args.seed, workers=args.workers, out=args.out)


def _cmd_batch(args) -> int:
    from .batch import _print_progress, run_batch

    out = args.out or Path("reports")
    result = run_batch(args.sources, out, draws=args.draws, seed=args.seed, workers=args.workers,
                       pack=not args.no_pack, scheduler=args.scheduler,
                       progress=_print_progress if _show_progress() else None,
                       log=print)
    done = sum(o.status == "done" for o in result.outcomes)
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    print(f"{done} simulated, {skipped} up to date, {len(result.failed)} failed; index: {result.index}")
    for outcome in result.failed:
        print(f"failed: {outcome.file}: {outcome.reason.splitlines()[0] if outcome.reason else ''}", file=sys.stderr)
    return EXIT_INVALID if result.failed else EXIT_OK


def _show_progress() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def console() -> None:
    """The ``simkit`` command: :func:`main` in a process of its own, which then exits."""
    # simkit's only matrix product is the root of a correlation matrix of a few inputs, so
    # it needs no BLAS threads; OpenBLAS's threads spin for about 0.1 s each when numpy loads,
    # which on a two-core machine takes the CPU from the run (0.13 s of a 1.5 s run).
    # Set before numpy is imported; a value the user set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    # The process ends here. Its objects (numba's, xarray's, matplotlib's: about a million)
    # go to the collector's permanent generation, so that the interpreter's last garbage
    # collection does not walk them all before exiting: 0.3-0.4 s of a 7 s run. Files are
    # closed and flushed by then; atexit handlers still run.
    import gc

    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
