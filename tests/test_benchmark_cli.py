"""benchmarks/cli.py: it runs the ``simkit run`` command on the reference model and reports it."""

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("benchmark_cli", Path(__file__).parents[1] / "benchmarks" / "cli.py")
bench_cli = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_cli)


def test_cli_benchmark_times_the_command_and_removes_its_output(tmp_path, capsys):
    code = bench_cli.main(["--draws", "300", "--workers", "1", "2", "--repeats", "1", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["300"]]
    assert [row[1] for row in rows] == ["1", "2"]
    for row in rows:
        wall, best, peak_rss, tree_pss, results_mb = map(float, row[2:7])
        assert wall == best > 0  # one run: its median is itself
        assert peak_rss > 50 and tree_pss > 50  # a Python process with numpy and numba, in MB
        assert results_mb > 0  # results.nc was written
    assert not list(tmp_path.iterdir())  # every run's folder is removed after it
