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
