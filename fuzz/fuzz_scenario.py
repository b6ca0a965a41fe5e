#!/usr/bin/env python
"""Coverage-guided fuzzing of the scenario loader and ``simkit validate`` (atheris).

Run from the repository root (see fuzz/README.md)::

    pip install -e '.[fuzz]'
    python fuzz/fuzz_scenario.py -atheris_runs=20000 fuzz/corpus

Each input is one of two things:

* **a scenario file** (any bytes; the seeds are the example scenarios): written to a
  temporary file and read by ``simkit.scenario.load.validate_file`` (the code path of
  ``load``) and, for one input in ``SIMKIT_FUZZ_CLI_EVERY`` (default 1: every input), by
  ``simkit validate`` itself (``simkit.cli.main``) with its output captured;
* **a structured mutation** (inputs whose first byte is 0xFF): the remaining bytes drive a
  ``FuzzedDataProvider`` that picks an example scenario and replaces, deletes, adds or
  nests values with hostile ones (NaN, infinities, huge and tiny numbers, wrong types,
  long and unicode strings, deep nesting), then calls ``from_dict``, which ``tomllib``
  could not have handed it (None, tuples, non-string keys).

The properties (any violation is a crash that libFuzzer saves as ``fuzz/crashes/crash-*``):

* the loader returns a ``Scenario`` or raises ``ScenarioError``; never anything else;
* every problem has a dotted path (a string, printable) and a non-empty message;
* ``simkit validate`` exits 0 (valid) or 1 (invalid), never prints "Traceback" or
  "internal error".

With ``SIMKIT_FUZZ_SIMULATE=1`` every scenario the loader accepts is also simulated
(4 draws, horizon capped at 24 months) with warnings turned into errors, so a value the
loader lets through but the engine cannot handle shows up as a crash too.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import io
import math
import os
import sys
import tempfile
import tomllib
import warnings
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["simkit.scenario", "simkit.errors", "simkit.cli", "tomllib"]):
    from simkit import cli
    from simkit.errors import ScenarioError
    from simkit.scenario import Scenario, from_dict
    from simkit.scenario.load import validate_file

EXAMPLES = [tomllib.loads(p.read_text()) for p in sorted((ROOT / "scenarios").glob("*.toml"))]
WORK = Path(tempfile.mkdtemp(prefix="simkit-fuzz-"))
SCENARIO_FILE = WORK / "scenario.toml"
CLI_EVERY = max(1, int(os.environ.get("SIMKIT_FUZZ_CLI_EVERY", "1")))
SIMULATE = os.environ.get("SIMKIT_FUZZ_SIMULATE") == "1"
STRUCTURED = 0xFF
_count = 0

DISTRIBUTION_KEYS = ("beta", "lognormal", "pert", "triangular", "normal", "uniform", "range")
PARAMETER_KEYS = ("mean", "concentration", "alpha", "beta", "median", "sigma", "p10", "p90", "min", "mode",
                  "max", "shape", "sd")
SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e308,
                  1.7976931348623157e308, -1e308, 1e13, 1e13 + 1, 1e9 + 1, 0.5, 1.0, 1.0000000000000002, -1.0,
                  0.9999999999999999, 100.0, 120.5, 2.0**53, 2.0**63)
SPECIAL_INTS = (0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 10**13, 10**20, 10**400, 100_000_001)
SPECIAL_STRINGS = ("", " ", "smb", "mid_market", "enterprise", "self_serve", "high_touch", "scaling", "USD",
                   "segments.smb.annual_churn", "segments.*.annual_churn", "*", "?", "[", "\x00", "\x1b[2J",
                   "\u202e", "\ud800", "é", "💸", "nan", "inf", "1e999", "a" * 10_000)


def _hostile(fdp: atheris.FuzzedDataProvider, depth: int = 0):
    kind = fdp.ConsumeIntInRange(0, 13)
    if kind == 0:
        return fdp.PickValueInList(list(SPECIAL_FLOATS))
    if kind == 1:
        return fdp.PickValueInList(list(SPECIAL_INTS))
    if kind == 2:
        return fdp.ConsumeRegularFloat()
    if kind == 3:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 12))
    if kind == 4:
        return fdp.PickValueInList(list(SPECIAL_STRINGS))
    if kind == 5:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64))
    if kind == 6:
        return fdp.ConsumeBool()
    if kind == 7:
        return None
    if kind == 8:
        return datetime.date(2024, 1, 1)
    if kind == 9 and depth < 4:
        return [_hostile(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if kind == 10 and depth < 4:
        # A distribution with hostile parameters.
        params = {fdp.PickValueInList(list(PARAMETER_KEYS)): _hostile(fdp, depth + 1)
                  for _ in range(fdp.ConsumeIntInRange(0, 4))}
        name = fdp.PickValueInList(list(DISTRIBUTION_KEYS))
        return {name: [_hostile(fdp, depth + 1), _hostile(fdp, depth + 1)] if name == "range" else params}
    if kind == 11:
        # Deep nesting: lists or tables hundreds of levels deep.
        value: object = 1
        for _ in range(fdp.ConsumeIntInRange(1, 2_000)):
            value = [value] if fdp.ConsumeBool() else {"a": value}
        return value
    if kind == 12 and depth < 4:
        return {fdp.ConsumeUnicode(8): _hostile(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3))}
    return fdp.ConsumeFloatInRange(-2.0, 2.0)


def _places(node, prefix=()):
    """Every (path, value) below ``node``; a path is a tuple of keys and list indices."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,), value
        if isinstance(value, (dict, list)) and len(prefix) < 8:
            yield from _places(value, prefix + (key,))


def _structured(fdp: atheris.FuzzedDataProvider) -> dict:
    data = copy.deepcopy(EXAMPLES[fdp.ConsumeIntInRange(0, len(EXAMPLES) - 1)])
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        places = list(_places(data))
        if not places:
            break
        path, _ = places[fdp.ConsumeIntInRange(0, len(places) - 1)]
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        operation = fdp.ConsumeIntInRange(0, 3)
        if operation == 0:
            parent[last] = _hostile(fdp)
        elif operation == 1:
            del parent[last]
        elif operation == 2 and isinstance(parent[last], dict):
            key = fdp.PickValueInList([fdp.ConsumeUnicode(12), *PARAMETER_KEYS, *DISTRIBUTION_KEYS, 0, None, (1, 2)])
            parent[last][key] = _hostile(fdp)
        else:
            parent[last] = [parent[last]] if fdp.ConsumeBool() else {"value": parent[last]}
    return data


def _check_problems(problems) -> None:
    assert problems, "a ScenarioError without problems"
    for problem in problems:
        assert isinstance(problem.path, str), f"path is not text: {problem!r}"
        assert problem.path.isprintable(), f"path is not printable: {problem.path!r}"
        assert isinstance(problem.message, str) and problem.message.strip(), f"empty message: {problem!r}"


def _check_loader(call):
    try:
        result = call()
    except ScenarioError as exc:
        _check_problems(exc.problems)
        return None
    assert isinstance(result, Scenario), f"returned {type(result).__name__}, not a Scenario"
    return result


def _simulate(scenario: Scenario) -> None:
    import dataclasses

    from simkit.simulation import simulate
    from simkit.summarize import bands, threshold_probabilities

    short = dataclasses.replace(scenario, horizon_months=min(scenario.horizon_months, 24))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = simulate(short, draws=4, seed=1)
        bands(ds)
        threshold_probabilities(ds)


def _validate_cli(path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["validate", str(path)])
    text = out.getvalue() + err.getvalue()
    assert code in (0, 1), f"simkit validate exited {code}: {text[-2000:]}"
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert text.startswith(f"{path}: "), text[:200]


def TestOneInput(data: bytes) -> None:
    global _count
    _count += 1
    if data[:1] == bytes([STRUCTURED]):
        fdp = atheris.FuzzedDataProvider(data[1:])
        scenario = _check_loader(lambda: from_dict(_structured(fdp)))
    else:
        SCENARIO_FILE.write_bytes(data)
        problems = validate_file(SCENARIO_FILE)
        if problems:
            _check_problems(problems)
        if _count % CLI_EVERY == 0:
            _validate_cli(SCENARIO_FILE)
        scenario = None
        if SIMULATE and not problems:
            scenario = _check_loader(lambda: from_dict(tomllib.loads(data.decode("utf-8-sig"))))
    if SIMULATE and scenario is not None:
        _simulate(scenario)


def main() -> None:
    argv = list(sys.argv)
    here = Path(__file__).resolve().parent
    # Sensible defaults unless given: the TOML / scenario dictionary, crash files in
    # fuzz/crashes/, inputs up to 16 KB (the examples are 6-9 KB).
    if not any(a.startswith("-dict=") for a in argv):
        argv.insert(1, f"-dict={here / 'scenario.dict'}")
    if not any(a.startswith("-artifact_prefix=") for a in argv):
        (here / "crashes").mkdir(exist_ok=True)
        argv.insert(1, f"-artifact_prefix={here / 'crashes'}/")
    if not any(a.startswith("-max_len=") for a in argv):
        argv.insert(1, "-max_len=16384")
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
