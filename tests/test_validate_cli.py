"""``simkit validate`` on broken files: exit code 1, a clear message naming the file, and
never a traceback, whatever is thrown at it.

The broken files are generated from the example scenarios: keys deleted, unknown keys
added, values of the wrong type or absurd size, the file truncated at many byte offsets,
random bytes, and files TOML itself chokes on.
"""

from __future__ import annotations

import copy
import datetime
import math
import os
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simkit.cli import main
from tests.scenario_edits import deleted, is_number, replaced, walk
from tests.toml_writer import dumps, toml_key, toml_value  # noqa: F401
from simkit.errors import ScenarioError
from simkit.scenario import Scenario, from_dict
from simkit.scenario.load import validate_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "scenarios").glob("*.toml"))
EXAMPLE_IDS = [p.stem for p in EXAMPLES]


# -- scenario data -------------------------------------------------------------------------
def example_data(path: Path) -> dict:
    return tomllib.loads(path.read_text())


# -- running the command -------------------------------------------------------------------
def validate(capsys, *paths) -> tuple[int, str]:
    code = main(["validate", *map(str, paths)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def check_rejected(capsys, path: Path, label: str = "") -> str:
    try:
        code, out = validate(capsys, path)
    except Exception as exc:  # report it with the case's label, not as a bare crash
        raise AssertionError(f"{label}: main() raised {exc!r}") from exc
    assert code == 1, f"{label}: expected exit 1, got {code}\n{out}"
    assert "Traceback" not in out, f"{label}\n{out}"
    assert str(path) in out, f"{label}: the file name is missing\n{out}"
    assert "problem" in out
    return out


class Cases:
    """Writes many broken files and collects every failure before asserting once."""

    def __init__(self, tmp_path: Path, capsys):
        self.dir, self.capsys, self.failures, self.count = tmp_path, capsys, [], 0

    def write(self, content: str | bytes, name: str = "case.toml") -> Path:
        path = self.dir / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    def rejected(self, content, label: str, must_mention: str | None = None) -> None:
        self.count += 1
        path = self.write(content)
        try:
            out = check_rejected(self.capsys, path, label)
            if must_mention is not None:
                assert must_mention in out, f"{label}: {must_mention!r} not in output\n{out}"
        except AssertionError as exc:
            self.failures.append(str(exc))

    def handled(self, content, label: str) -> int:
        """Valid or not, but never a crash: returns the exit code."""
        self.count += 1
        path = self.write(content)
        try:
            code, out = validate(self.capsys, path)
        except Exception as exc:
            self.failures.append(f"{label}: main() raised {exc!r}")
            return 1
        if code not in (0, 1) or "Traceback" in out or str(path) not in out:
            self.failures.append(f"{label}: exit {code}\n{out}")
        return code

    def check(self) -> None:
        assert self.count
        assert not self.failures, f"{len(self.failures)} of {self.count} cases failed:\n\n" + "\n\n".join(
            self.failures[:10]
        )


@pytest.fixture
def cases(tmp_path, capsys) -> Cases:
    return Cases(tmp_path, capsys)


# =========================================================================================
# Valid files
# =========================================================================================
def test_every_example_is_valid(capsys):
    code, out = validate(capsys, *EXAMPLES)
    assert code == 0, out
    for path in EXAMPLES:
        assert f"{path}: ok" in out
    assert f"{len(EXAMPLES)} valid, 0 invalid" in out


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_round_trips_through_the_writer(path, tmp_path, capsys):
    # The inline writer used below produces files the loader reads as the original.
    data = example_data(path)
    copy_ = tmp_path / path.name
    copy_.write_text(dumps(data))
    assert tomllib.loads(copy_.read_text()) == data
    code, out = validate(capsys, copy_)
    assert code == 0, out


# =========================================================================================
# Files broken on purpose, generated from the examples
# =========================================================================================
def required_paths(data: dict) -> list[tuple]:
    paths = [("segments",)]
    for name, seg in data["segments"].items():
        paths += [("segments", name, k) for k in ("acv", "gross_margin", "annual_churn") if k in seg]
    for name in data.get("motions", {}):
        paths += [("motions", name, k) for k in ("segment", "cost_per_lead", "conversion")]
    for i, _ in enumerate(data.get("correlations", [])):
        paths += [("correlations", i, "between"), ("correlations", i, "rank_correlation")]
    for name in data.get("stresses", {}):
        paths.append(("stresses", name, "shocks"))
    for name, tm in data.get("touch_models", {}).items():
        if name not in ("high_touch", "low_touch", "scale", "tech_touch"):
            paths += [("touch_models", name, k) for k in tm if k != "uncovered_churn_multiplier"]
    for name, stage in data.get("stages", {}).items():
        if name not in ("pre_pmf", "early_growth", "scaling", "mature") and "arr_from" in stage:
            paths.append(("stages", name, "arr_from"))
    return paths


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_deleting_a_required_key(path, cases):
    data = example_data(path)
    for key_path in required_paths(data):
        cases.rejected(dumps(deleted(data, key_path)), f"delete {'.'.join(map(str, key_path))}")
    cases.check()


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_deleting_any_line_never_crashes(path, cases):
    lines = path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            cases.handled("".join(lines[:i] + lines[i + 1:]), f"without line {i + 1}: {line.strip()}")
    cases.check()


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_an_unknown_key_in_any_table(path, cases):
    data = example_data(path)
    tables = [()] + [p for p, v in walk(data) if isinstance(v, dict)]
    for table_path in tables:
        node = data
        for key in table_path:
            node = node[key]
        mutated = copy.deepcopy(data)
        target = mutated
        for key in table_path:
            target = target[key]
        target["bogus_setting"] = 1
        cases.rejected(dumps(mutated), f"bogus_setting in {'.'.join(map(str, table_path)) or 'top'}",
                       must_mention="bogus_setting")
    cases.check()


WRONG_TYPES = {"text": "lots", "bool": True, "list": [1, 2], "table": {"x": 1},
               "date": datetime.date(2024, 1, 31)}


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_wrong_types_where_a_number_goes(path, cases):
    data = example_data(path)
    numbers = [p for p, v in walk(data) if is_number(v)]
    assert len(numbers) > 30
    for key_path in numbers:
        for label, value in WRONG_TYPES.items():
            where = ".".join(map(str, key_path))
            cases.rejected(dumps(replaced(data, key_path, value)), f"{where} = {label}")
    cases.check()


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_wrong_types_where_text_goes(path, cases):
    data = example_data(path)
    texts = [p for p, v in walk(data) if isinstance(v, str)]
    assert texts
    for key_path in texts:
        for label, value in (("number", 5), ("bool", False), ("table", {"a": "b"})):
            cases.rejected(dumps(replaced(data, key_path, value)), f"{'.'.join(map(str, key_path))} = {label}")
    cases.check()


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_absurd_numbers(path, cases):
    data = example_data(path)
    numbers = [p for p, v in walk(data) if is_number(v)]
    for key_path in numbers:
        where = ".".join(map(str, key_path))
        for label, value in (("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("huge", 1e30),
                             ("huge int", 10**30), ("enormous int", 10**400)):
            cases.rejected(dumps(replaced(data, key_path, value)), f"{where} = {label}")
        # A negative number is wrong almost everywhere; a shift or a normal's own
        # bounds may legitimately be negative.
        legit_negative = key_path[-1] == "shift" or (key_path[-1] in ("min", "max") and "normal" in key_path)
        negative = dumps(replaced(data, key_path, -1_000_000))
        if legit_negative:
            cases.handled(negative, f"{where} = -1e6")
        else:
            cases.rejected(negative, f"{where} = -1e6")
    cases.check()


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_truncated_at_many_byte_offsets(path, cases):
    raw = path.read_bytes()
    first_segment = raw.index(b"[segments.")
    rng = random.Random(path.stem)
    offsets = sorted(set(range(0, len(raw), max(1, len(raw) // 150)))
                     | {rng.randrange(len(raw)) for _ in range(50)})
    rejected = 0
    for offset in offsets:
        chunk = raw[:offset]
        if offset <= first_segment:
            cases.rejected(chunk, f"cut at byte {offset} (before any segment)")
            rejected += 1
        else:
            rejected += cases.handled(chunk, f"cut at byte {offset}")
    cases.check()
    # Most cuts break something (a missing motion, half a table, an unclosed string).
    assert rejected >= 0.5 * len(offsets)


def test_truncated_inside_a_multibyte_character(cases):
    text = (ROOT / "scenarios" / "pre_pmf_smb.toml").read_text() + '\n[stresses.euro]\ndescription = "€€€"\n'
    raw = text.encode()
    cut = raw.index("€".encode()) + 1
    cases.rejected(raw[:cut], "cut inside a UTF-8 character", must_mention="not a text file")
    cases.check()


def test_random_bytes(cases):
    rng = random.Random(2024)
    for i in range(60):
        size = rng.choice([1, 2, 7, 64, 512, 4096])
        cases.rejected(bytes(rng.randrange(256) for _ in range(size)), f"random bytes #{i} ({size})")
    cases.check()


def test_random_printable_text(cases):
    rng = random.Random(7)
    alphabet = "abc_[]{}=\"'.,#\n 0123456789-+eEinfa"
    for i in range(100):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 300)))
        cases.rejected(text, f"random text #{i}: {text[:40]!r}")
    cases.check()


@pytest.mark.parametrize(
    "label, content, mention",
    [
        ("empty", b"", "empty"),
        ("whitespace", b"  \n\t\n", "empty"),
        ("only comments", b"# nothing here\n# really\n", "segment"),
        ("png header", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a text file"),
        ("utf-16", "[segments.smb]\nacv = 1\n".encode("utf-16"), "not a text file"),
        ("nul bytes", b"[segments.smb]\nacv = 1\x00\n", "not valid TOML"),
        ("zip", b"PK\x03\x04" + bytes(range(256)), "not a text file"),
        ("nested arrays 10000 deep", b"a = " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "nested too deeply"),
        ("nested tables 10000 deep", b"a = " + b"{b = " * 10_000 + b"1" + b"}" * 10_000 + b"\n",
         "nested too deeply"),
        ("unclosed nesting", b"a = " + b"[" * 10_000, "not valid TOML"),
        ("deep list as acv", b"[segments.smb]\nacv = " + b"[" * 200 + b"]" * 200 + b"\n", "segments.smb.acv"),
        ("5000-digit number", b"[segments.smb]\nacv = 1" + b"0" * 5_000 + b"\n", "too many digits"),
        ("400-digit number", b"[segments.smb]\nacv = 1" + b"0" * 400 + b"\n", "segments.smb.acv"),
        ("duplicate key", b"[segments.smb]\nacv = 1\nacv = 2\n", "not valid TOML"),
        ("html", b"<html><body>404 Not Found</body></html>", "not valid TOML"),
        ("json", b'{"segments": {"smb": {"acv": 2400}}}', "not valid TOML"),
        ("yaml", b"segments:\n  smb:\n    acv: 2400\n", "not valid TOML"),
        ("segment is a number", b"segments = 5\n", "segments"),
        ("segments is a list", b"segments = [1, 2]\n", "segments"),
        ("array of tables for segments", b"[[segments]]\nacv = 1\n", "segments"),
        ("datetime", b"[segments.smb]\nacv = 1979-05-27T07:32:00Z\n", "segments.smb.acv"),
    ],
)
def test_malformed_files(cases, label, content, mention):
    cases.rejected(content, label, must_mention=mention)
    cases.check()


def test_a_directory_is_rejected(tmp_path, capsys):
    folder = tmp_path / "scenarios.toml"
    folder.mkdir()
    out = check_rejected(capsys, folder)
    assert "folder" in out


def test_a_missing_file_is_rejected(tmp_path, capsys):
    out = check_rejected(capsys, tmp_path / "does_not_exist.toml")
    assert "no such file" in out


def test_valid_and_invalid_files_together(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text("[segments.smb]\nacv = -1\n")
    code, out = validate(capsys, EXAMPLES[0], broken, tmp_path / "missing.toml")
    assert code == 1 and "Traceback" not in out
    assert f"{EXAMPLES[0]}: ok" in out
    assert f"{broken}: 3 problems" in out
    assert f"{tmp_path / 'missing.toml'}: 1 problem" in out
    assert "1 valid, 2 invalid" in out


def test_output_lists_each_problem_with_its_dotted_path(tmp_path, capsys):
    data = example_data(ROOT / "scenarios" / "scaling_add_enterprise.toml")
    data["segments"]["enterprise"]["annual_churn"] = 1.2
    data["motions"]["field_sales"]["segment"] = "enterprize"
    data["scenario"]["draws"] = "many"
    path = tmp_path / "plan.toml"
    path.write_text(dumps(data))
    out = check_rejected(capsys, path)
    lines = out.splitlines()
    assert lines[0] == f"{path}: 3 problems"
    assert "  - segments.enterprise.annual_churn: got 1.2; expected a fraction" in out
    assert "  - motions.field_sales.segment: got 'enterprize'; no such segment" in out
    assert "did you mean 'enterprise'?" in out
    assert "  - scenario.draws: got 'many'; expected a whole number" in out


def test_no_arguments_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


# =========================================================================================
# End to end, in a separate process
# =========================================================================================
def run_cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simkit.cli", "validate", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_subprocess_valid_examples():
    done = run_cli(*EXAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f"{len(EXAMPLES)} valid, 0 invalid" in done.stdout


def test_subprocess_broken_files(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_bytes(b"a = " + b"[" * 10_000 + b"]" * 10_000 + b"\n")
    garbage = tmp_path / "garbage.toml"
    garbage.write_bytes(bytes(range(256)) * 4)
    typo = tmp_path / "typo.toml"
    typo.write_text((ROOT / "scenarios" / "pre_pmf_smb.toml").read_text().replace("annual_churn", "anual_churn"))
    done = run_cli(deep, garbage, typo, tmp_path / "missing.toml", tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    for path in (deep, garbage, typo, tmp_path / "missing.toml", tmp_path):
        assert f"{path}: " in out
    assert "did you mean 'annual_churn'?" in out
    assert "0 valid, 5 invalid" in out


# =========================================================================================
# Property: from_dict on arbitrary JSON-like data returns a Scenario or raises ScenarioError
# =========================================================================================
KEYS = [
    "scenario", "company", "segments", "motions", "touch_models", "allocation", "stages", "correlations",
    "stresses", "smb", "enterprise", "self_serve", "acv", "gross_margin", "annual_churn", "monthly_churn",
    "segment", "cost_per_lead", "conversion", "budget_per_month", "csms", "headcount", "arr_from", "beta",
    "mean", "concentration", "lognormal", "median", "sigma", "p10", "p90", "pert", "min", "mode", "max",
    "range", "normal", "sd", "between", "rank_correlation", "shocks", "input", "scale", "set", "thresholds",
    "benchmark", "touch_model", "stage", "high_touch", "accounts_per_csm",
]
LEAVES = (
    st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | st.sampled_from(KEYS)
)
JSON_LIKE = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


def only_scenario_or_scenario_error(data) -> None:
    try:
        result = from_dict(data)
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem.path, str) and problem.message
    else:
        assert isinstance(result, Scenario)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_LIKE)
def test_from_dict_on_random_data(data):
    only_scenario_or_scenario_error(data)


BASE = example_data(ROOT / "scenarios" / "scaling_add_enterprise.toml")
BASE_PATHS = [p for p, _ in walk(BASE)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(BASE_PATHS), JSON_LIKE), min_size=1, max_size=3))
def test_from_dict_on_randomly_damaged_examples(changes):
    data = copy.deepcopy(BASE)
    for path, value in changes:
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    only_scenario_or_scenario_error(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2_000))
def test_validate_file_on_random_bytes(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("bytes") / "x.toml"
    path.write_bytes(content)
    assert validate_file(path)  # never valid, never an exception


def test_console_exits_with_the_code_of_main_freezes_the_heap_and_needs_no_blas_threads(monkeypatch):
    import gc

    from simkit import cli

    monkeypatch.setattr(cli, "main", lambda: cli.EXIT_INVALID)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    try:
        with pytest.raises(SystemExit) as exited:
            cli.console()
        assert exited.value.code == cli.EXIT_INVALID
        assert gc.get_freeze_count() > 0  # the final collection will skip these objects
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"  # no BLAS threads spinning at numpy's import
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
        with pytest.raises(SystemExit):
            cli.console()
        assert os.environ["OPENBLAS_NUM_THREADS"] == "4"  # the user's own setting is kept
    finally:
        gc.unfreeze()
