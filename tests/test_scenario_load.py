"""The scenario loader: example files, distribution syntax, defaults, cross-field checks,
error reporting, and the immutable Scenario it returns.

Expected numbers are written out here (not imported from ``defaults``) so that a changed
default is caught: the thresholds below are DOMAIN.md section 5, the stages section 6.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from simkit.errors import Problem, ScenarioError
from simkit.scenario import (
    Allocation,
    Beta,
    Company,
    Distribution,
    Fixed,
    LogitNormal,
    LogNormal,
    Motion,
    Normal,
    Pert,
    Scenario,
    Segment,
    Stage,
    Stress,
    TouchModel,
    Triangular,
    Uniform,
    from_dict,
    load,
    validate_file,
)
from simkit.scenario.model import THRESHOLD_METRICS

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = ROOT / "scenarios"
EXAMPLES = sorted(SCENARIO_DIR.glob("*.toml"))
EXAMPLE_IDS = [p.stem for p in EXAMPLES]

# A dotted field path as the loader reports it: names, list indices, wildcards.
PATH_RE = re.compile(r"^[^.\s\[\]]+(\.[^.\s\[\]]+|\[\d+\])*$")


# -- helpers ------------------------------------------------------------------------------
def minimal() -> dict:
    """The smallest useful scenario: one segment, one motion, a budget."""
    return {
        "segments": {"smb": {"acv": 2_400, "gross_margin": 0.7, "annual_churn": 0.2}},
        "motions": {"self_serve": {"segment": "smb", "cost_per_lead": 100, "conversion": 0.1}},
        "allocation": {"budget_per_month": {"self_serve": 10_000}},
    }


def put(data: dict, dotted: str, value) -> dict:
    """Set ``value`` at a dotted path, creating tables on the way; returns ``data``."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


def drop(data: dict, dotted: str) -> dict:
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    del node[last]
    return data


def with_field(dotted: str, value, base: dict | None = None) -> dict:
    return put(copy.deepcopy(base) if base is not None else minimal(), dotted, value)


def problems_of(data) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        from_dict(data)
    problems = info.value.problems
    assert problems, "a ScenarioError must carry at least one problem"
    return problems


def only_problem(data) -> Problem:
    problems = problems_of(data)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def parse(value, field: str = "segments.smb.annual_churn") -> Distribution:
    """The distribution the loader builds for ``value`` written at ``field``."""
    scenario = from_dict(with_field(field, value))
    return scenario.inputs()[field]


def stage_band(scenario: Scenario, stage: str) -> tuple[float, float]:
    names = list(scenario.stages)
    low = scenario.stages[stage].arr_from
    i = names.index(stage)
    high = scenario.stages[names[i + 1]].arr_from if i + 1 < len(names) else math.inf
    return low, high


def starting_arr(scenario: Scenario) -> float:
    total = 0.0
    for seg in scenario.segments.values():
        acv = seg.starting_acv if seg.starting_acv is not None else seg.acv
        total += seg.starting_customers.mean() * acv.mean()
    return total


# =========================================================================================
# 1. The example scenarios
# =========================================================================================
def test_the_five_examples_exist():
    names = {p.stem for p in EXAMPLES}
    assert {
        "pre_pmf_smb",
        "early_growth_mid_market",
        "scaling_baseline",
        "scaling_add_enterprise",
        "mature_all_segments",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_loads_with_typed_inputs(path):
    scenario = load(path)
    assert isinstance(scenario, Scenario)
    assert validate_file(path) == []
    assert scenario.name == path.stem
    assert scenario.source_file == str(path)
    assert len(scenario.content_hash) == 64
    assert isinstance(scenario.company, Company)
    assert isinstance(scenario.allocation, Allocation)
    assert scenario.segments and scenario.motions
    for name, seg in scenario.segments.items():
        assert isinstance(seg, Segment) and seg.name == name
        assert isinstance(seg.acv, Distribution) and isinstance(seg.gross_margin, Distribution)
        assert (seg.annual_churn is None) != (seg.monthly_churn is None)
        assert seg.touch_model in scenario.touch_models
        assert all(k in THRESHOLD_METRICS and isinstance(v, float) for k, v in seg.thresholds.items())
    for name, motion in scenario.motions.items():
        assert isinstance(motion, Motion) and motion.name == name
        assert motion.segment in scenario.segments
    for tm in scenario.touch_models.values():
        assert isinstance(tm, TouchModel)
    for stage in scenario.stages.values():
        assert isinstance(stage, Stage) and isinstance(stage.arr_from, float)
    for stress in scenario.stresses.values():
        assert isinstance(stress, Stress) and stress.description and stress.shocks
        for shock in stress.shocks:
            assert scenario.match_inputs(shock.input), shock.input
    inputs = scenario.inputs()
    assert inputs and all(isinstance(d, Distribution) for d in inputs.values())
    assert scenario.uncertain_inputs(), "examples should show uncertain inputs"


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_run_settings_and_stage(path):
    raw = tomllib.loads(path.read_text())
    assert {"horizon_months", "draws", "seed"} <= raw["scenario"].keys(), "set them explicitly"
    scenario = load(path)
    assert 36 <= scenario.horizon_months <= 60
    assert scenario.draws == 10_000
    # The stage is in the file name, and starting ARR lies inside that stage's band.
    stage = scenario.company.stage
    assert stage is not None and path.stem.startswith(stage)
    low, high = stage_band(scenario, stage)
    assert low <= starting_arr(scenario) < high


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_has_a_bad_year_correlation_and_two_stresses(path):
    scenario = load(path)
    assert len(scenario.stresses) >= 2
    # At least one correlation says "churn up, conversion down" (negative).
    assert any(
        c.rank_correlation < 0
        and any(i.endswith("churn") for i in c.inputs)
        and any(i.endswith("conversion") for i in c.inputs)
        for c in scenario.correlations
    )


def test_examples_use_every_recommended_distribution_family():
    used = set()
    for path in EXAMPLES:
        used |= {type(d) for d in load(path).inputs().values()}
    assert {Beta, LogNormal, Pert, Normal, LogitNormal, Triangular, Uniform, Fixed} <= used


@pytest.mark.parametrize(
    "segment, low, high",
    [("smb", 2_000, 3_000), ("mid_market", 20_000, 30_000), ("enterprise", 150_000, 250_000)],
)
def test_example_acvs_are_realistic(segment, low, high):
    seen = 0
    for path in EXAMPLES:
        scenario = load(path)
        if segment in scenario.segments:
            seen += 1
            median = scenario.segments[segment].acv.quantile(0.5)
            assert low <= median <= high, (path.name, median)
    assert seen


def test_example_motion_economics_are_realistic():
    for path in EXAMPLES:
        scenario = load(path)
        for motion in scenario.motions.values():
            # Marketing and variable sales cost per won customer (headcount comes on top).
            cac = motion.cost_per_lead.mean() / motion.conversion.mean() + motion.sales_cost_per_won.mean()
            if motion.segment == "smb":
                assert 300 <= cac <= 1_000, (path.name, cac)
                assert motion.sales_cycle_months.mean() <= 1
            if motion.segment == "enterprise":
                assert 50_000 <= cac <= 100_000, (path.name, cac)
                assert 6 <= motion.sales_cycle_months.mean() <= 9


def test_add_enterprise_is_the_baseline_plus_enterprise_only():
    base = load(SCENARIO_DIR / "scaling_baseline.toml")
    plan = load(SCENARIO_DIR / "scaling_add_enterprise.toml")
    for attr in ("horizon_months", "draws", "seed", "ltv_window_months", "currency", "company"):
        assert getattr(base, attr) == getattr(plan, attr), attr
    base_inputs, plan_inputs = base.inputs(), plan.inputs()
    for path, dist in base_inputs.items():
        assert plan_inputs.get(path) == dist, path
    extra = set(plan_inputs) - set(base_inputs)
    assert extra and all("enterprise" in p or "field_sales" in p for p in extra), extra
    assert set(base.correlations) < set(plan.correlations)
    assert base.stresses == plan.stresses
    for name in ("smb", "mid_market"):
        assert base.segments[name] == plan.segments[name]
    assert plan.stages["scaling"].allocation is not None
    assert base.stages["scaling"].allocation is None


# =========================================================================================
# 2. Distribution syntax
# =========================================================================================
def test_plain_number_is_fixed():
    dist = parse(0.2)
    assert dist == Fixed(0.2) and dist.is_fixed
    assert parse(2_400, "segments.smb.acv") == Fixed(2400.0)
    assert isinstance(parse(2_400, "segments.smb.acv").value, float)


def test_beta_mean_concentration():
    dist = parse({"beta": {"mean": 0.07, "concentration": 200}})
    assert isinstance(dist, Beta)
    assert dist.alpha == pytest.approx(14.0)
    assert dist.beta == pytest.approx(186.0)
    assert dist.mean() == pytest.approx(0.07)


def test_beta_alpha_beta():
    dist = parse({"beta": {"alpha": 2, "beta": 5}})
    assert isinstance(dist, Beta) and (dist.alpha, dist.beta) == (2.0, 5.0)
    assert dist.mean() == pytest.approx(2 / 7)


def test_lognormal_median_sigma():
    dist = parse({"lognormal": {"median": 2_400, "sigma": 0.25}}, "segments.smb.acv")
    assert isinstance(dist, LogNormal)
    assert dist.mu == pytest.approx(math.log(2_400))
    assert dist.sigma == 0.25
    assert dist.quantile(0.5) == pytest.approx(2_400)


def test_lognormal_p10_p90_reproduces_the_quantiles():
    dist = parse({"lognormal": {"p10": 120_000, "p90": 280_000}}, "segments.smb.acv")
    assert isinstance(dist, LogNormal)
    assert dist.quantile(0.10) == pytest.approx(120_000, rel=1e-9)
    assert dist.quantile(0.90) == pytest.approx(280_000, rel=1e-9)
    assert dist.quantile(0.5) == pytest.approx(math.sqrt(120_000 * 280_000), rel=1e-9)


def test_pert_default_and_custom_shape():
    dist = parse({"pert": {"min": 0.1, "mode": 0.2, "max": 0.4}})
    assert isinstance(dist, Pert)
    assert (dist.low, dist.mode, dist.high, dist.shape) == (0.1, 0.2, 0.4, 4.0)
    assert dist.mean() == pytest.approx((0.1 + 4 * 0.2 + 0.4) / 6)
    wide = parse({"pert": {"min": 0.1, "mode": 0.2, "max": 0.4, "shape": 2}})
    assert wide.shape == 2.0
    assert wide.mean() == pytest.approx((0.1 + 2 * 0.2 + 0.4) / 4)


def test_triangular():
    dist = parse({"triangular": {"min": 1, "mode": 2, "max": 4}}, "motions.self_serve.sales_cycle_months")
    assert isinstance(dist, Triangular)
    assert (dist.low, dist.mode, dist.high) == (1.0, 2.0, 4.0)
    assert dist.mean() == pytest.approx(7 / 3)


def test_uniform():
    dist = parse({"uniform": {"min": 60, "max": 160}}, "segments.smb.cost_to_serve_per_year")
    assert isinstance(dist, Uniform) and (dist.low, dist.high) == (60.0, 160.0)
    assert dist.mean() == 110.0


def test_normal_is_truncated_to_the_fields_valid_range():
    dist = parse({"normal": {"mean": 0.04, "sd": 0.04}}, "segments.smb.annual_expansion")
    assert isinstance(dist, Normal)
    assert (dist.loc, dist.scale) == (0.04, 0.04)
    assert (dist.low, dist.high) == (-1.0, 100.0)  # a growth rate: above -1
    churn = parse({"normal": {"mean": 0.1, "sd": 0.05}})
    assert (churn.low, churn.high) == (0.0, 1.0)
    # The analyst's own bounds are kept, intersected with the field's range.
    bounded = parse({"normal": {"mean": 0.1, "sd": 0.05, "min": 0.05, "max": 2.0}})
    assert (bounded.low, bounded.high) == (0.05, 1.0)
    draws = bounded.sample(np.random.default_rng(0), 20_000)
    assert draws.min() >= 0.05 and draws.max() <= 1.0


def test_range_on_a_rate_is_logit_normal_with_the_given_90pct_interval():
    dist = parse({"range": [0.05, 0.10]})
    assert isinstance(dist, LogitNormal)
    assert dist.quantile(0.05) == pytest.approx(0.05, rel=1e-9)
    assert dist.quantile(0.95) == pytest.approx(0.10, rel=1e-9)
    conversion = parse({"range": [0.15, 0.30]}, "motions.self_serve.conversion")
    assert isinstance(conversion, LogitNormal)
    assert conversion.quantile(0.95) == pytest.approx(0.30, rel=1e-9)


def test_range_on_a_positive_amount_is_lognormal():
    dist = parse({"range": [1_800, 3_200]}, "segments.smb.acv")
    assert isinstance(dist, LogNormal)
    assert dist.quantile(0.05) == pytest.approx(1_800, rel=1e-9)
    assert dist.quantile(0.95) == pytest.approx(3_200, rel=1e-9)
    count = parse({"range": [100, 200]}, "segments.smb.starting_customers")
    assert isinstance(count, LogNormal)


@pytest.mark.parametrize(
    "field, low, high, bounds",
    [
        ("segments.smb.annual_expansion", -0.05, 0.20, (-1.0, 100.0)),  # may be negative
        ("motions.self_serve.sales_cycle_months", 3, 9, (0.0, 120.0)),  # bounded above
        ("touch_models.low_touch.uncovered_churn_multiplier", 1.2, 2.0, (0.0, 1000.0)),
    ],
)
def test_range_elsewhere_is_a_truncated_normal(field, low, high, bounds):
    dist = parse({"range": [low, high]}, field)
    assert isinstance(dist, Normal)
    assert (dist.low, dist.high) == bounds
    assert dist.loc == pytest.approx((low + high) / 2)
    # Truncation is negligible here, so the 5% / 95% points are the analyst's.
    assert dist.quantile(0.05) == pytest.approx(low, abs=0.02 * (high - low))
    assert dist.quantile(0.95) == pytest.approx(high, abs=0.02 * (high - low))


def test_range_from_zero_on_an_amount_is_a_normal_cut_at_zero():
    dist = parse({"range": [0, 200]}, "segments.smb.cost_to_serve_per_year")
    assert isinstance(dist, Normal)
    assert (dist.low, dist.high, dist.loc) == (0.0, 1e13, 100.0)
    assert dist.scale == pytest.approx(200 / (2 * 1.6448536269514722))
    assert dist.sample(np.random.default_rng(1), 10_000).min() >= 0


def test_distribution_source_is_kept_for_reports():
    assert parse({"beta": {"mean": 0.07, "concentration": 200}}).describe() == "beta(mean 0.07, concentration 200)"
    assert parse({"range": [0.05, 0.1]}).describe() == "range [0.05, 0.1]"


@pytest.mark.parametrize(
    "value, field, path, words",
    [
        ({"beta": {"mean": 1.5, "concentration": 10}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.beta.mean", ["1.5", "between 0 and 1"]),
        ({"beta": {"mean": 0.1}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.beta", ["mean and concentration"]),
        ({"beta": {"mean": 0.1, "concentration": 10, "alpha": 1}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.beta", ["either"]),
        ({"beta": {"alpha": -1, "beta": 2}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.beta.alpha", ["-1", "above 0"]),
        ({"lognormal": {"median": 0.1, "sigma": 0.2}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn", ["lognormal", "no upper limit"]),
        ({"lognormal": {"median": 2000, "sigma": 6}}, "segments.smb.acv",
         "segments.smb.acv.lognormal.sigma", ["6", "at most 5"]),
        ({"lognormal": {"p10": 3000, "p90": 2000}}, "segments.smb.acv",
         "segments.smb.acv.lognormal", ["3000", "2000"]),
        ({"lognormal": {"median": -5, "sigma": 0.2}}, "segments.smb.acv",
         "segments.smb.acv.lognormal.median", ["-5"]),
        ({"pert": {"min": 0.1, "mode": 0.5, "max": 0.3}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.pert", ["mode 0.5"]),
        ({"pert": {"min": -0.1, "mode": 0.1, "max": 0.3}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn", ["pert(min -0.1", "outside the valid range"]),
        ({"pert": {"min": 0.1, "max": 0.3}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.pert", ["missing mode"]),
        ({"triangular": {"min": 5, "mode": 5, "max": 5}}, "motions.self_serve.sales_cycle_months",
         "motions.self_serve.sales_cycle_months.triangular", ["min 5"]),
        ({"uniform": {"min": 300, "max": 100}}, "segments.smb.cost_to_serve_per_year",
         "segments.smb.cost_to_serve_per_year.uniform", ["300", "100"]),
        ({"uniform": {"min": 0, "max": 100}}, "segments.smb.acv",
         "segments.smb.acv", ["uniform(min 0", "above 0"]),
        ({"normal": {"mean": 0.1, "sd": 0}}, "segments.smb.annual_expansion",
         "segments.smb.annual_expansion.normal.sd", ["0", "above 0"]),
        ({"normal": {"mean": 50, "sd": 0.01}}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.normal", ["mean 50", "almost no probability"]),
        ({"range": [0.3, 0.1]}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.range", ["0.3", "0.1"]),
        ({"range": [0.0, 0.3]}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.range", ["[0, 0.3]", "0 < low"]),
        ({"range": [0.1, 0.2, 0.3]}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.range", ["[low, high]"]),
        ({"range": [2, 5]}, "segments.smb.annual_churn",
         "segments.smb.annual_churn.range", ["[2, 5]"]),
        ({"lognormel": {"median": 2000, "sigma": 0.2}}, "segments.smb.acv",
         "segments.smb.acv.lognormel", ["did you mean 'lognormal'"]),
        ({"beta": {"mean": 0.1, "concentration": 10}, "pert": {"min": 0, "mode": 0.1, "max": 0.2}},
         "segments.smb.annual_churn", "segments.smb.annual_churn", ["exactly one"]),
        ({}, "segments.smb.annual_churn", "segments.smb.annual_churn", ["exactly one"]),
        ({"beta": 0.2}, "segments.smb.annual_churn", "segments.smb.annual_churn.beta", ["got 0.2"]),
    ],
)
def test_bad_distribution_is_reported_at_its_path(value, field, path, words):
    problem = only_problem(with_field(field, value))
    assert problem.path == path, str(problem)
    for word in words:
        assert word in problem.message, str(problem)


# =========================================================================================
# 3. Defaults
# =========================================================================================
DOMAIN_THRESHOLDS = {
    "smb": {
        "ltv_cac_min": 5.0,
        "payback_months_max": 12.0,
        "annual_churn_max": 0.25,
        "cac_max": 500.0,
        "cs_cost_per_account_max": 200.0,
    },
    "mid_market": {
        "ltv_cac_min": 4.0,
        "payback_months_max": 18.0,
        "annual_churn_max": 0.15,
        "cac_max": 5_000.0,
    },
    "enterprise": {
        "ltv_cac_min": 3.0,
        "payback_months_max": 36.0,
        "annual_churn_max": 0.10,
        "cac_max": 100_000.0,
        "annual_expansion_min": 0.15,
    },
}

SEGMENT = {"acv": 10_000, "gross_margin": 0.75, "annual_churn": 0.1}


def scenario_with_segments(**segments) -> Scenario:
    data = minimal()
    data["segments"].update(segments)
    return from_dict(data)


def test_default_segment_names_get_domain_section_5_thresholds():
    scenario = scenario_with_segments(mid_market=dict(SEGMENT), enterprise=dict(SEGMENT))
    for name, expected in DOMAIN_THRESHOLDS.items():
        assert dict(scenario.segments[name].thresholds) == expected, name


def test_other_names_have_no_thresholds_unless_they_borrow_a_benchmark():
    scenario = scenario_with_segments(
        public_sector=dict(SEGMENT, benchmark="enterprise"),
        partners=dict(SEGMENT),
        tier_2=dict(SEGMENT, benchmark="mid_market", thresholds={"cac_max": 8_000}),
    )
    assert dict(scenario.segments["public_sector"].thresholds) == DOMAIN_THRESHOLDS["enterprise"]
    assert scenario.segments["public_sector"].benchmark == "enterprise"
    assert dict(scenario.segments["partners"].thresholds) == {}
    assert dict(scenario.segments["tier_2"].thresholds) == {**DOMAIN_THRESHOLDS["mid_market"], "cac_max": 8_000.0}


def test_threshold_overrides_replace_only_the_keys_given():
    data = with_field("segments.smb.thresholds", {"ltv_cac_min": 3, "nrr_min": 1.0})
    thresholds = dict(from_dict(data).segments["smb"].thresholds)
    assert thresholds == {**DOMAIN_THRESHOLDS["smb"], "ltv_cac_min": 3.0, "nrr_min": 1.0}


def test_a_segment_can_borrow_another_default_segments_benchmark():
    data = with_field("segments.smb.benchmark", "mid_market")
    assert dict(from_dict(data).segments["smb"].thresholds) == DOMAIN_THRESHOLDS["mid_market"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("ltv_cac_min", 2.5),
        ("payback_months_max", 24),
        ("cac_max", 750),
        ("annual_churn_max", 0.3),
        ("annual_expansion_min", 0.05),
        ("nrr_min", 1.05),
        ("grr_min", 0.85),
        ("cs_cost_share_max", 0.15),
        ("cs_cost_per_account_max", 150),
    ],
)
def test_every_threshold_metric_can_be_set(key, value):
    assert key in THRESHOLD_METRICS
    data = with_field("segments.partners", dict(SEGMENT, thresholds={key: value}))
    assert dict(from_dict(data).segments["partners"].thresholds) == {key: float(value)}


def test_threshold_metrics_cover_the_documented_set():
    assert set(THRESHOLD_METRICS) == {
        "ltv_cac_min", "payback_months_max", "cac_max", "annual_churn_max", "annual_expansion_min",
        "nrr_min", "grr_min", "cs_cost_share_max", "cs_cost_per_account_max",
    }
    for key, (metric, op) in THRESHOLD_METRICS.items():
        assert op == (">=" if key.endswith("_min") else "<=")
        assert key.startswith(metric)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("annual_churn_max", 1.5, ["1.5", "fraction"]),
        ("ltv_cac_min", -1, ["-1"]),
        ("payback_months_max", 500, ["500", "months"]),
        ("cac_max", "cheap", ["'cheap'"]),
        ("ltv_cac_minimum", 3, ["did you mean 'ltv_cac_min'"]),
    ],
)
def test_bad_thresholds(key, value, words):
    problem = only_problem(with_field(f"segments.smb.thresholds.{key}", value))
    assert problem.path == f"segments.smb.thresholds.{key}"
    for word in words:
        assert word in problem.message


def test_stage_defaults_are_domain_section_6():
    scenario = from_dict(minimal())
    assert {name: s.arr_from for name, s in scenario.stages.items()} == {
        "pre_pmf": 0.0,
        "early_growth": 1_000_000.0,
        "scaling": 10_000_000.0,
        "mature": 50_000_000.0,
    }
    assert all(s.allocation is None for s in scenario.stages.values())
    assert scenario.company.stage is None


def test_stage_boundary_override_and_a_custom_stage():
    data = minimal()
    data["stages"] = {
        "early_growth": {"arr_from": 2_000_000, "allocation": {"budget_per_month": {"self_serve": 20_000}}},
        "ipo_ready": {"arr_from": 100_000_000},
    }
    data["company"] = {"stage": "early_growth"}
    scenario = from_dict(data)
    assert list(scenario.stages) == ["pre_pmf", "early_growth", "scaling", "mature", "ipo_ready"]
    assert scenario.stages["early_growth"].arr_from == 2_000_000
    assert scenario.stages["early_growth"].allocation.budget_per_month["self_serve"] == Fixed(20_000.0)
    assert scenario.stages["ipo_ready"].arr_from == 100_000_000
    assert scenario.company.stage == "early_growth"
    assert "stages.early_growth.allocation.budget_per_month.self_serve" in scenario.inputs()


def test_touch_model_defaults_and_key_by_key_override():
    data = minimal()
    data["touch_models"] = {
        "high_touch": {"accounts_per_csm": 10},
        "pooled": {"accounts_per_csm": 80, "csm_cost_per_year": 115_000, "tooling_cost_per_account_per_year": 150},
    }
    tm = from_dict(data).touch_models
    expected = {
        "high_touch": (10, 150_000, 500, 2.0),
        "low_touch": (50, 120_000, 200, 1.5),
        "scale": (200, 100_000, 100, 1.25),
        "tech_touch": (0, 0, 100, 1.0),
        "pooled": (80, 115_000, 150, 1.0),  # the multiplier defaults to 1 (no effect)
    }
    assert set(tm) == set(expected)
    for name, (apc, cost, tooling, mult) in expected.items():
        got = tm[name]
        assert (got.accounts_per_csm, got.csm_cost_per_year, got.tooling_cost_per_account_per_year,
                got.uncovered_churn_multiplier) == (Fixed(apc), Fixed(cost), Fixed(tooling), Fixed(mult)), name


def test_scenario_segment_motion_and_company_defaults():
    scenario = from_dict(minimal())
    assert (scenario.name, scenario.description, scenario.currency) == ("scenario", "", "USD")
    assert (scenario.horizon_months, scenario.draws, scenario.seed, scenario.ltv_window_months) == (36, 10_000, 1, 60)
    assert from_dict(minimal(), name="from_stem").name == "from_stem"
    seg = scenario.segments["smb"]
    assert seg.touch_model == "tech_touch"
    assert seg.cost_to_serve_per_year == Fixed(0.0) and seg.starting_customers == Fixed(0.0)
    assert seg.starting_acv is None and seg.annual_expansion is None and seg.monthly_expansion is None
    assert seg.benchmark is None and seg.churn_field == "annual_churn" and seg.expansion_field is None
    motion = scenario.motions["self_serve"]
    assert motion.kind == "self_serve"
    assert motion.sales_cost_per_won == Fixed(0.0) and motion.sales_cycle_months == Fixed(0.0)
    assert motion.cost_per_head_per_year == Fixed(0.0)
    assert scenario.company.starting_cash == Fixed(0.0) and scenario.company.fixed_opex_per_month == Fixed(0.0)
    assert dict(scenario.allocation.headcount) == {} and dict(scenario.allocation.csms) == {}
    assert scenario.correlations == () and dict(scenario.stresses) == {}
    custom = from_dict(with_field("motions.outbound", {"segment": "smb", "cost_per_lead": 10, "conversion": 0.1}))
    assert custom.motions["outbound"].kind == "custom"


def test_monthly_rates_are_accepted_instead_of_annual():
    data = minimal()
    seg = data["segments"]["smb"]
    del seg["annual_churn"]
    seg["monthly_churn"] = 0.02
    seg["monthly_expansion"] = {"normal": {"mean": 0.005, "sd": 0.002}}
    scenario = from_dict(data)
    smb = scenario.segments["smb"]
    assert smb.annual_churn is None and smb.monthly_churn == Fixed(0.02)
    assert smb.churn_field == "monthly_churn" and smb.expansion_field == "monthly_expansion"
    assert "segments.smb.monthly_churn" in scenario.inputs()


def test_load_uses_the_file_stem_as_default_name(tmp_path):
    path = tmp_path / "my_plan.toml"
    path.write_text('[segments.smb]\nacv = 2400\ngross_margin = 0.7\nannual_churn = 0.2\n')
    assert load(path).name == "my_plan"


# =========================================================================================
# 4. Cross-field checks and other invalid content
# =========================================================================================
def three_uncertain() -> dict:
    data = minimal()
    data["segments"]["smb"]["annual_churn"] = {"beta": {"mean": 0.2, "concentration": 100}}
    data["segments"]["smb"]["acv"] = {"lognormal": {"median": 2_400, "sigma": 0.2}}
    data["motions"]["self_serve"]["conversion"] = {"beta": {"mean": 0.1, "concentration": 100}}
    return data


A, B, C = "segments.smb.annual_churn", "motions.self_serve.conversion", "segments.smb.acv"


def correlations(*triples) -> dict:
    data = three_uncertain()
    data["correlations"] = [{"between": [x, y], "rank_correlation": rho} for x, y, rho in triples]
    return data


def test_valid_correlations_are_kept():
    scenario = from_dict(correlations((A, B, -0.5), (A, C, 0.3)))
    assert [(c.inputs, c.rank_correlation) for c in scenario.correlations] == [((A, B), -0.5), ((A, C), 0.3)]


def test_contradictory_correlations_are_rejected():
    problem = only_problem(correlations((A, B, -0.9), (A, C, -0.9), (B, C, -0.9)))
    assert problem.path == "correlations"
    assert "positive semi-definite" in problem.message and "contradict" in problem.message
    # The same three inputs with consistent correlations are fine.
    from_dict(correlations((A, B, 0.5), (A, C, 0.5), (B, C, 0.5)))


@pytest.mark.parametrize(
    "triples, path, words",
    [
        ([(A, "segments.smb.anual_churn", -0.5)], "correlations[0].between",
         ["'segments.smb.anual_churn'", "did you mean 'segments.smb.annual_churn'"]),
        ([(A, "segments.smb.gross_margin", -0.5)], "correlations[0].between",
         ["segments.smb.gross_margin", "fixed number"]),
        ([(A, A, 0.5)], "correlations[0].between", ["itself"]),
        ([(A, B, -0.5), (B, A, -0.4)], "correlations[1].between", ["twice"]),
        ([(A, B, 1.0)], "correlations[0].rank_correlation", ["1.0", "between -1 and 1"]),
        ([(A, B, -1.5)], "correlations[0].rank_correlation", ["-1.5"]),
        ([(A, B, "strong")], "correlations[0].rank_correlation", ["'strong'"]),
    ],
)
def test_bad_correlations(triples, path, words):
    problem = only_problem(correlations(*triples))
    assert problem.path == path, str(problem)
    for word in words:
        assert word in problem.message, str(problem)


def test_correlation_shape_errors():
    data = three_uncertain()
    data["correlations"] = [{"between": [A], "rank_correlation": 0.5}]
    assert only_problem(data).path == "correlations[0].between"
    data["correlations"] = [{"between": [A, B]}]
    assert only_problem(data).path == "correlations[0].rank_correlation"
    data["correlations"] = {"between": [A, B], "rank_correlation": 0.5}
    assert only_problem(data).path == "correlations"
    data["correlations"] = [{"between": [A, B], "rank_correlation": 0.5, "method": "copula"}]
    assert only_problem(data).path == "correlations[0].method"


CROSS_FIELD = [
    # (mutation, path, words the message must contain)
    (lambda d: put(d, "motions.self_serve.segment", "smbb"),
     "motions.self_serve.segment", ["'smbb'", "no such segment", "did you mean 'smb'"]),
    (lambda d: put(d, "allocation.budget_per_month.self_srve", 1_000),
     "allocation.budget_per_month.self_srve", ["'self_srve'", "did you mean 'self_serve'"]),
    (lambda d: put(d, "allocation.csms.enterprise", 2),
     "allocation.csms.enterprise", ["'enterprise'", "segments: smb"]),
    (lambda d: put(d, "allocation.headcount.self_serve", 3),
     "allocation.headcount.self_serve", ["cost_per_head_per_year"]),
    (lambda d: put(d, "stages.scaling.allocation.budget_per_month.field_sales", 5),
     "stages.scaling.allocation.budget_per_month.field_sales", ["'field_sales'", "no motion"]),
    (lambda d: put(d, "stages.scaling.arr_from", 500_000),
     "stages.scaling.arr_from", ["500,000", "must increase"]),
    (lambda d: put(d, "stages.pre_pmf.arr_from", 100_000),
     "stages.pre_pmf.arr_from", ["0 ARR"]),
    (lambda d: put(d, "stages.series_b", {"allocation": {}}),
     "stages.series_b.arr_from", ["is required"]),
    (lambda d: put(d, "company.stage", "scalling"),
     "company.stage", ["'scalling'", "did you mean 'scaling'"]),
    (lambda d: put(d, "segments.smb.annual_churn", 1.2),
     "segments.smb.annual_churn", ["1.2", "fraction"]),
    (lambda d: put(d, "segments.smb.gross_margin", 72),
     "segments.smb.gross_margin", ["72", "fraction"]),
    (lambda d: put(d, "segments.smb.gross_margin", 0),
     "segments.smb.gross_margin", ["got 0", "above 0"]),
    (lambda d: put(d, "segments.smb.anual_churn", 0.2),
     "segments.smb.anual_churn", ["unknown setting", "did you mean 'annual_churn'"]),
    (lambda d: put(d, "segments.smb.monthly_churn", 0.02),
     "segments.smb", ["annual_churn or monthly_churn, not both"]),
    (lambda d: put(put(d, "segments.smb.annual_expansion", 0.1), "segments.smb.monthly_expansion", 0.01),
     "segments.smb", ["annual_expansion or monthly_expansion, not both"]),
    (lambda d: drop(d, "segments.smb.annual_churn"),
     "segments.smb.annual_churn", ["is required"]),
    (lambda d: drop(d, "segments.smb.acv"), "segments.smb.acv", ["is required"]),
    (lambda d: drop(d, "motions.self_serve.conversion"), "motions.self_serve.conversion", ["is required"]),
    (lambda d: drop(d, "motions.self_serve.segment"), "motions.self_serve.segment", ["is required"]),
    (lambda d: put(d, "segments.smb.touch_model", "hi_touch"),
     "segments.smb.touch_model", ["'hi_touch'", "did you mean 'high_touch'"]),
    (lambda d: put(d, "segments.smb.benchmark", "enterprize"),
     "segments.smb.benchmark", ["'enterprize'", "did you mean 'enterprise'"]),
    (lambda d: put(d, "touch_models.pooled", {"accounts_per_csm": 80, "csm_cost_per_year": 1e5}),
     "touch_models.pooled.tooling_cost_per_account_per_year", ["is required"]),
    (lambda d: put(d, "segment", {}), "segment", ["did you mean 'segments'"]),
    (lambda d: put(d, "scenario.horizon", 36), "scenario.horizon", ["did you mean 'horizon_months'"]),
    (lambda d: put(d, "scenario.horizon_months", 0), "scenario.horizon_months", ["got 0", "1 to 600"]),
    (lambda d: put(d, "scenario.horizon_months", 36.5), "scenario.horizon_months", ["36.5", "whole number"]),
    (lambda d: put(d, "scenario.draws", True), "scenario.draws", ["True"]),
    (lambda d: put(d, "scenario.seed", -1), "scenario.seed", ["-1"]),
    (lambda d: put(d, "scenario.currency", "usd"), "scenario.currency", ["'usd'", "three-letter"]),
    (lambda d: put(d, "scenario.name", 5), "scenario.name", ["got 5", "text"]),
    (lambda d: put(d, "segments.smb.acv", float("nan")), "segments.smb.acv", ["nan", "NaN"]),
    (lambda d: put(d, "segments.smb.acv", float("inf")), "segments.smb.acv", ["inf"]),
    (lambda d: put(d, "segments.smb.acv", True), "segments.smb.acv", ["True"]),
    (lambda d: put(d, "segments.smb.acv", "2400"), "segments.smb.acv", ["'2400'"]),
    (lambda d: put(d, "segments.smb.acv", [2000, 3000]), "segments.smb.acv", ["a list", "range"]),
    (lambda d: put(d, "segments.smb.acv", 1e15), "segments.smb.acv", ["1000000000000000.0", "typo"]),
    (lambda d: put(d, "segments.smb.acv", 10**400), "segments.smb.acv", ["401 digits"]),
    (lambda d: put(d, "segments.smb.starting_customers", -3), "segments.smb.starting_customers", ["-3"]),
    (lambda d: put(d, "motions.self_serve.sales_cycle_months", 200),
     "motions.self_serve.sales_cycle_months", ["200", "months"]),
    (lambda d: put(d, "segments.mid-market", dict(SEGMENT)), "segments.mid-market", ["letters, digits"]),
    (lambda d: put(d, "segments.smb", 5), "segments.smb", ["got 5", "table"]),  # and no cascade
    (lambda d: put(d, "motions.self_serve", "web"), "motions.self_serve", ["'web'", "table"]),
    (lambda d: put(d, "company.stage", "growth") and put(d, "stages.growth", {"arr_from": "1M"}),
     "stages.growth.arr_from", ["'1M'"]),
    (lambda d: put(d, "company", "big"), "company", ["'big'", "table"]),
    (lambda d: put(d, "stresses.bad", {"shocks": [{"input": "segments.*.anual_churn", "scale": 1.5}]}),
     "stresses.bad.shocks[0].input", ["matches no input", "did you mean"]),
    (lambda d: put(d, "stresses.bad", {"shocks": [{"input": "segments.*.annual_churn", "scale": 1.5, "shift": 0.1}]}),
     "stresses.bad.shocks[0]", ["exactly one of scale, shift or set"]),
    (lambda d: put(d, "stresses.bad", {"shocks": [{"input": "segments.*.annual_churn", "scale": -1}]}),
     "stresses.bad.shocks[0].scale", ["-1"]),
    (lambda d: put(d, "stresses.bad", {"shocks": [{"input": "segments.*.annual_churn", "set": 2}]}),
     "stresses.bad.shocks[0].set", ["got 2", "fraction"]),
    (lambda d: put(d, "stresses.bad", {"shocks": []}), "stresses.bad.shocks", ["list of shocks"]),
    (lambda d: put(d, "stresses.bad", {"description": "x"}), "stresses.bad.shocks", ["list of shocks"]),
]


@pytest.mark.parametrize("mutate, path, words", CROSS_FIELD, ids=[c[1] + f"-{i}" for i, c in enumerate(CROSS_FIELD)])
def test_invalid_content_names_the_path_and_the_value(mutate, path, words):
    problem = only_problem(mutate(minimal()))
    assert problem.path == path, str(problem)
    assert PATH_RE.match(problem.path), problem.path
    for word in words:
        assert word in problem.message, str(problem)


def test_no_segments_at_all():
    problem = only_problem({"scenario": {"name": "x"}})
    assert problem.path == "segments" and "at least one segment" in problem.message


def test_top_level_must_be_a_table():
    problems = problems_of([1, 2, 3])
    assert any("a list" in p.message for p in problems)


def test_valid_stresses_are_parsed():
    data = minimal()
    data["stresses"] = {
        "bad_year": {
            "description": "churn up",
            "shocks": [
                {"input": "segments.*.annual_churn", "scale": 1.5},
                {"input": "motions.self_serve.cost_per_lead", "shift": 20},
                {"input": "segments.smb.acv", "set": {"range": [1_500, 2_500]}},
            ],
        }
    }
    stress = from_dict(data).stresses["bad_year"]
    assert stress.description == "churn up"
    ops = [(s.input, s.operation) for s in stress.shocks]
    assert ops == [("segments.*.annual_churn", "scale"), ("motions.self_serve.cost_per_lead", "shift"),
                   ("segments.smb.acv", "set")]
    assert stress.shocks[0].value == 1.5
    assert isinstance(stress.shocks[2].value, LogNormal)
    assert stress.shocks[0].matches("segments.smb.annual_churn")
    assert not stress.shocks[0].matches("segments.smb.acv")


# =========================================================================================
# 5. All problems at once, each with a dotted path and the bad value
# =========================================================================================
def test_three_problems_give_three_problems():
    data = minimal()
    data["segments"]["smb"]["annual_churn"] = 1.2
    data["motions"]["self_serve"]["segment"] = "enterprise"
    data["scenario"] = {"horizon_months": "long"}
    problems = problems_of(data)
    assert sorted(p.path for p in problems) == [
        "motions.self_serve.segment", "scenario.horizon_months", "segments.smb.annual_churn",
    ]
    assert "1.2" in next(p for p in problems if p.path.endswith("annual_churn")).message
    assert "'enterprise'" in next(p for p in problems if p.path.endswith("segment")).message
    assert "'long'" in next(p for p in problems if p.path.endswith("horizon_months")).message


def test_a_file_with_many_problems_reports_them_all(tmp_path):
    text = (SCENARIO_DIR / "early_growth_mid_market.toml").read_text()
    broken = (
        text.replace("annual_churn = { beta = { mean = 0.12, concentration = 150 } }",
                     "annual_churn = { beta = { mean = 12, concentration = 150 } }")
        .replace('segment = "smb"', 'segment = "small"')
        .replace("seed = 202", "seed = 202\nsede = 3")
        .replace('touch_model = "low_touch"', 'touch_model = "lowtouch"')
    )
    assert broken.count("\n") > text.count("\n")
    path = tmp_path / "broken.toml"
    path.write_text(broken)
    with pytest.raises(ScenarioError) as info:
        load(path)
    err = info.value
    assert sorted(p.path for p in err.problems) == [
        "motions.self_serve.segment",
        "scenario.sede",
        "segments.mid_market.annual_churn.beta.mean",
        "segments.mid_market.touch_model",
    ]
    assert err.file == str(path)
    assert all(p.file == str(path) for p in err.problems)
    assert str(err).startswith(f"{path}: 4 problems found")
    assert validate_file(path) == err.problems


def test_every_problem_has_a_dotted_path_and_a_message():
    data = minimal()
    data["segments"]["smb"].update(acv="x", gross_margin=2, annual_churn={"beta": {"mean": 2}}, extra=1)
    data["motions"]["self_serve"].update(conversion=[0.1], cost_per_lead=-5, sales_cycle_months=float("nan"))
    data["allocation"]["csms"] = {"nobody": 1}
    data["scenario"] = {"draws": 0, "seed": 1.5}
    problems = problems_of(data)
    assert len(problems) >= 10
    for p in problems:
        assert isinstance(p, Problem)
        assert PATH_RE.match(p.path), p.path
        assert p.message and not p.message.startswith(" ")
        assert str(p).startswith(p.path)


# =========================================================================================
# 6. File-level errors
# =========================================================================================
@pytest.mark.parametrize(
    "content, words",
    [
        (b"", ["empty"]),
        (b"   \n\n# just a comment\n", ["at least one segment"]),
        (b"\xff\xfe\x00garbage", ["not a text file"]),
        (b"[segments.smb\nacv = 1", ["not valid TOML"]),
        (b"a = " + b"[" * 10_000 + b"]" * 10_000, ["nested too deeply"]),
        (b"a = 1" + b"0" * 5_000, ["too many digits"]),
    ],
)
def test_file_level_problems(tmp_path, content, words):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    problems = validate_file(path)
    assert problems
    text = " ".join(p.message for p in problems)
    for word in words:
        assert word in text


def test_missing_file_and_folder(tmp_path):
    assert "no such file" in validate_file(tmp_path / "nope.toml")[0].message
    assert "folder" in validate_file(tmp_path)[0].message
    with pytest.raises(ScenarioError) as info:
        load(tmp_path / "nope.toml")
    assert info.value.file == str(tmp_path / "nope.toml")


def test_a_byte_order_mark_is_accepted(tmp_path):
    source = SCENARIO_DIR / "pre_pmf_smb.toml"
    path = tmp_path / "pre_pmf_smb.toml"
    path.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().replace(b"\n", b"\r\n"))
    assert load(path) == load(source)


def test_content_hash_ignores_comments_and_layout(tmp_path):
    source = SCENARIO_DIR / "pre_pmf_smb.toml"
    text = source.read_text()
    commented = tmp_path / "a.toml"
    commented.write_text("# a new comment\n\n" + text.replace(" = ", "   =   "))
    changed = tmp_path / "b.toml"
    changed.write_text(text.replace("seed = 101", "seed = 102"))
    assert load(commented).content_hash == load(source).content_hash
    assert load(changed).content_hash != load(source).content_hash


# =========================================================================================
# 7. The Scenario object: immutable, picklable, queryable
# =========================================================================================
@pytest.fixture(scope="module")
def mature() -> Scenario:
    return load(SCENARIO_DIR / "mature_all_segments.toml")


def test_scenario_is_immutable(mature):
    with pytest.raises(dataclasses.FrozenInstanceError):
        mature.name = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        mature.segments["smb"].acv = Fixed(1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mature.segments["smb"].acv.mu = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        mature.company.starting_cash = Fixed(0.0)
    with pytest.raises(TypeError):
        mature.segments["smb"] = None
    with pytest.raises(TypeError):
        mature.segments["smb"].thresholds["cac_max"] = 1.0
    with pytest.raises(TypeError):
        mature.allocation.budget_per_month["self_serve"] = Fixed(0.0)
    with pytest.raises((TypeError, AttributeError)):
        mature.correlations.append(None)


@pytest.mark.parametrize("path", EXAMPLES, ids=EXAMPLE_IDS)
def test_scenario_pickles_and_hashes(path):
    scenario = load(path)
    copy_ = pickle.loads(pickle.dumps(scenario))
    assert copy_ == scenario
    assert hash(copy_) == hash(scenario)
    assert copy_.inputs() == scenario.inputs()
    assert copy_.content_hash == scenario.content_hash
    assert copy.deepcopy(scenario) == scenario


def test_match_inputs_with_wildcards(mature):
    assert mature.match_inputs("segments.*.annual_churn") == [
        "segments.smb.annual_churn", "segments.mid_market.annual_churn", "segments.enterprise.annual_churn",
    ]
    assert mature.match_inputs("motions.*.conversion") == [
        "motions.self_serve.conversion", "motions.sales_assisted.conversion", "motions.field_sales.conversion",
    ]
    assert mature.match_inputs("segments.enterprise.acv") == ["segments.enterprise.acv"]
    assert mature.match_inputs("*csms.*") == [
        "allocation.csms.mid_market", "allocation.csms.enterprise",
        "stages.ipo_ready.allocation.csms.mid_market", "stages.ipo_ready.allocation.csms.enterprise",
    ]
    assert mature.match_inputs("segments.*.anual_churn") == []
    assert set(mature.uncertain_inputs()) < set(mature.inputs())
    assert all(not d.is_fixed for d in mature.uncertain_inputs().values())


def test_with_inputs_replaces_and_transforms_without_touching_the_original(mature):
    before = mature.inputs()
    shocked = mature.with_inputs({
        "segments.smb.annual_churn": Fixed(0.4),
        "motions.field_sales.conversion": lambda d: Fixed(d.mean() * 0.5),
    })
    assert isinstance(shocked, Scenario)
    assert shocked.segments["smb"].annual_churn == Fixed(0.4)
    assert shocked.motions["field_sales"].conversion.value == pytest.approx(0.5 * before["motions.field_sales.conversion"].mean())
    assert mature.inputs() == before  # the original is unchanged
    after = shocked.inputs()
    assert list(after) == list(before)  # same registry, same order
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {"segments.smb.annual_churn", "motions.field_sales.conversion"}
    # Everything else is the very same object (nothing copied needlessly).
    assert shocked.segments["mid_market"] is mature.segments["mid_market"]


def test_with_inputs_over_a_wildcard_match(mature):
    paths = mature.match_inputs("segments.*.annual_churn")
    harsher = mature.with_inputs({p: (lambda d: Fixed(min(1.0, d.mean() * 1.5))) for p in paths})
    for p in paths:
        assert harsher.inputs()[p].value == pytest.approx(min(1.0, mature.inputs()[p].mean() * 1.5))
    stage_csms = mature.with_inputs({p: Fixed(0.0) for p in mature.match_inputs("stages.*.csms.*")})
    assert all(v == Fixed(0.0) for v in stage_csms.stages["ipo_ready"].allocation.csms.values())
    assert stage_csms.allocation.csms == mature.allocation.csms


@pytest.mark.parametrize("path", ["segments.nope.acv", "segments.smb.acvv", "segments.smb", "nothing"])
def test_with_inputs_rejects_unknown_paths(mature, path):
    with pytest.raises(KeyError):
        mature.with_inputs({path: Fixed(1.0)})
