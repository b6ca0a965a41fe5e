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


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--draws", type=_positive_int, help="number of simulated futures (default: the scenario's)")
    parser.add_argument("--seed", type=_non_negative_int, help="random seed (default: the scenario's)")
    parser.add_argument("--workers", type=_positive_int, default=1, help="processes to use (default 1)")
    parser.add_argument("--out", type=Path, help="output folder (default: reports/<scenario name>/)")


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

    report = commands.add_parser("report", help="re-render the board pack from saved results.nc")
    report.add_argument("results", type=Path, help="results.nc written by 'simkit run'")
    report.add_argument("--out", type=Path, help="output folder (default: the folder of results.nc)")

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
        pack=not args.no_pack, progress=_show_progress(),
    )


def _cmd_report(args) -> int:
    from .run import render_report

    return render_report(args.results, out=args.out)


def _show_progress() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
