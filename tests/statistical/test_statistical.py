"""Each validation check of ``checks.py`` is a test: every row must pass.

Monte Carlo rows pass within 4 standard errors of the simulated estimate, exact rows
within a relative 1e-9; see ``checks.py`` and ``docs/validation.md`` for the method.
"""

from __future__ import annotations

import pytest

from .checks import CHECKS, Check


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_validation_check(check):
    rows = check()
    assert rows and all(isinstance(row, Check) for row in rows)
    failed = [row for row in rows if not row.passed]
    assert not failed, "\n".join(
        f"{row.id}: expected {row.expected!r}, simulated {row.simulated!r}, |difference| {row.difference:.6g} > "
        f"tolerance {row.tolerance:.6g}" + (f" ({row.z:.1f} SE)" if row.z is not None else "") + f"; {row.detail}"
        for row in failed)


def test_report_renders_every_row():
    from .report import render, run_checks

    rows, seconds = run_checks()
    text = render(rows, seconds)
    assert all(f"`{row.id}`" in text for row in rows)
    assert f"{len(rows)} of {len(rows)} rows pass" in text and "**FAIL**" not in text
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
