"""benchmarks/simd_probe.c: its 8-lane samplers compute the same variates as its scalar ones.

The probe is a planning measurement (docs/design.md, Known limits); this checks that its
figures compare like with like. It needs a C compiler and a CPU with AVX-512 (F, DQ),
which simkit itself does not, so the test is skipped without them.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

PROBE = Path(__file__).parents[1] / "benchmarks" / "simd_probe.c"


def _has_avx512() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512f" in flags and " avx512dq" in flags


@pytest.mark.skipif(shutil.which("gcc") is None or not _has_avx512(), reason="needs gcc and an AVX-512 CPU")
def test_lanes_and_scalar_samplers_agree_bit_for_bit(tmp_path):
    binary = tmp_path / "simd_probe"
    subprocess.run(["gcc", "-O2", "-march=native", "-o", str(binary), str(PROBE), "-lm"], check=True)
    run = subprocess.run([str(binary), "2"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    rows = [line for line in run.stdout.splitlines() if line[:2] in ("1.", "2.")]
    assert len(rows) == 2
    for row in rows:
        scalar_ns, lanes_ns, ratio = map(float, row.split()[-6:-3])
        assert scalar_ns > 0 and lanes_ns > 0 and ratio == pytest.approx(scalar_ns / lanes_ns, rel=0.02)
        scalar_sum, slash, lanes_sum = row.split()[-3:]
        assert slash == "/" and int(scalar_sum) == int(lanes_sum) > 0
