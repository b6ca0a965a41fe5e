"""benchmarks/lanes_probe.py: the model in 8 vector lanes gives each draw the same result
as the model run draw by draw, through every way a lane can go.

The probe is a planning measurement (docs/design.md, Known limits); this checks that its
figures compare like with like. numba and LLVM are all it needs, so it runs everywhere
(LLVM splits the 8-lane vectors to fit the machine's registers).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
lanes_probe = pytest.importorskip("lanes_probe")


def test_lanes_and_draw_by_draw_agree_bit_for_bit_through_every_path():
    """At 256 draws the lanes invert, continue an inversion past its branch-free steps,
    accept BTRD's first proposal and finish a rejected one on their own."""
    (totals, company), (lane_totals, lane_company), paths = lanes_probe.run_both(draws=256)
    assert np.all(totals[:, :, 4] > 0) and np.all(np.isfinite(company[:, 1:]))
    np.testing.assert_array_equal(lane_totals, totals)
    np.testing.assert_array_equal(lane_company, company)
    inverted, continued, accepted, finished = paths
    assert inverted > 0 and continued > 0 and accepted > 0 and finished > 0


def test_main_prints_both_and_exits_0(capsys):
    assert lanes_probe.main(["--draws", "64", "--repeats", "1"]) == 0
    printed = capsys.readouterr().out
    assert "draw by draw" in printed and "in lanes" in printed and "identical" in printed


def test_draw_by_draw_is_the_kernels_month_loop_bit_for_bit():
    """The probe's baseline is ``simulate_block`` cut down to what the reference model uses
    (so that its timing compares like with like): on the same draws and streams the kernel
    gives the same totals and company figures. It fails if the probe's month arithmetic
    (shared with the lanes) drifts from the kernel's."""
    from simkit import _kernel

    draws = 256
    (totals, company), _, _ = lanes_probe.run_both(draws=draws)
    key, conversion, churn, economics = lanes_probe.inputs(draws)
    segments, motions = lanes_probe.SEGMENTS, lanes_probe.SEGMENTS  # motion j serves segment j
    column = lambda c: np.ascontiguousarray(economics[:, :, c])  # noqa: E731
    zeros = np.zeros((draws, segments))
    kernel_totals, kernel_company = np.zeros((draws, segments, 7)), np.zeros((draws, 3))
    _kernel.simulate_block(
        True, key, 0, np.arange(motions + segments, dtype=np.int64), lanes_probe.HORIZON, False,
        column(lanes_probe.ACV), column(lanes_probe.ACV), column(lanes_probe.MARGIN), np.ascontiguousarray(churn),
        column(lanes_probe.EXPANSION), zeros, zeros, zeros, zeros, zeros,
        np.tile(np.array([c for _, _, c, _ in lanes_probe.ECONOMICS]), (draws, 1)), np.ascontiguousarray(conversion),
        column(lanes_probe.SALES_COST), np.zeros((draws, motions), dtype=np.int64), np.arange(motions, dtype=np.int64),
        np.ascontiguousarray(economics[:, None, :, lanes_probe.SPEND]), np.zeros((draws, 1, segments)), np.zeros(1), 0,
        np.zeros(draws), np.zeros(draws),
        kernel_totals, kernel_company, np.zeros((draws, 1)), np.zeros((8, 1, 1, 1)), np.zeros((3, 1, 1)),
    )
    assert np.all(kernel_totals[:, :, 3].sum(axis=0) > 0)  # customers churned in every segment
    np.testing.assert_array_equal(kernel_totals, totals)
    np.testing.assert_array_equal(kernel_company, company)
