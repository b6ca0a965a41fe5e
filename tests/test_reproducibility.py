"""Same seed, same results, bit for bit: across processes, hash seeds, worker counts and
chunk sizes; and every results file says which libraries made it.

``test_engine.py`` checks in one process that ``workers`` and ``chunk_draws`` cannot change
a bit. Here the runs are separate ``simkit run`` processes (different ``PYTHONHASHSEED``,
one with two workers), compared byte for byte on ``results.nc`` and ``summary.csv``, and
the run is rebuilt from nothing but the provenance recorded in ``results.nc``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy
import xarray as xr

import simkit
from simkit.run import write_results
from simkit.scenario import from_dict, load
from simkit.simulation import BLOCK_DRAWS, simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "pre_pmf_smb.toml"  # uncertain inputs and a correlation
DRAWS = BLOCK_DRAWS + 808  # two blocks, the second partial
SEED = 2024


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Two `simkit run` processes at once: different hash seeds, one and two workers."""
    base = tmp_path_factory.mktemp("repro")
    runs = []
    for hash_seed, workers in (("1", 1), ("2", 2)):
        out = base / f"hash{hash_seed}-workers{workers}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        process = subprocess.Popen(
            [sys.executable, "-m", "simkit.cli", "run", str(SCENARIO), "--no-pack", "--draws", str(DRAWS), "--seed",
             str(SEED), "--workers", str(workers), "--out", str(out)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs.append((out, process))
    for out, process in runs:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stdout + stderr
    return [out for out, _ in runs]


def test_separate_processes_write_identical_files(two_processes):
    first, second = two_processes
    for name in ("results.nc", "summary.csv"):
        assert sha256(first / name) == sha256(second / name), f"{name} differs between processes"


def test_in_process_run_with_other_chunks_writes_the_same_file(two_processes, tmp_path):
    scenario = load(SCENARIO)
    ds = simulate(scenario, draws=DRAWS, seed=SEED, chunk_draws=BLOCK_DRAWS)  # one block per chunk
    write_results(ds, tmp_path / "results.nc")
    assert sha256(tmp_path / "results.nc") == sha256(two_processes[0] / "results.nc")


def test_results_rebuild_from_their_own_provenance(two_processes):
    """results.nc alone (scenario tables, seed, draws) is enough to redo the run exactly."""
    with xr.open_dataset(two_processes[0] / "results.nc", engine="h5netcdf") as saved:
        saved = saved.load()
    attrs = saved.attrs
    scenario = from_dict(json.loads(attrs["scenario_json"]), name=attrs["scenario_name"])
    assert scenario.content_hash == attrs["scenario_hash"]
    assert json.loads(attrs["seed_spawn_key"]) == [] and int(attrs["block_draws"]) == BLOCK_DRAWS
    again = simulate(scenario, draws=int(attrs["draws"]), seed=int(attrs["seed_entropy"]))
    for name, var in saved.data_vars.items():
        np.testing.assert_array_equal(again[name].values, var.values, err_msg=name)


def test_a_different_seed_gives_different_draws(two_processes):
    scenario = load(SCENARIO)
    other = simulate(scenario, draws=DRAWS, seed=SEED + 1)
    with xr.open_dataset(two_processes[0] / "results.nc", engine="h5netcdf") as saved:
        assert not np.array_equal(saved["sampled"].values, other["sampled"].values)


def test_library_versions_are_recorded(two_processes):
    """A changed numpy (its bit generators or its special functions) can change a stream;
    the Dataset says which versions produced it, so a difference is explained."""
    with xr.open_dataset(two_processes[0] / "results.nc", engine="h5netcdf") as saved:
        attrs = dict(saved.attrs)
    expected = {
        "simkit_version": simkit.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xr.__version__,
        "numba_version": numba.__version__,
        "python_version": sys.version.split()[0],
    }
    for key, value in expected.items():
        assert attrs.get(key) == value, (key, attrs.get(key))
    for key in ("platform", "seed_entropy", "seed_spawn_key", "block_draws", "draws", "scenario_hash",
                "scenario_json", "process_noise"):
        assert key in attrs and str(attrs[key]) != "", key
    assert str(attrs["seed_entropy"]) == str(SEED) and int(attrs["draws"]) == DRAWS


def test_the_parameter_stream_is_pinned():
    """The first draw of three inputs, pinned. They depend only on numpy's SeedSequence and
    PCG64 and on scipy's inverse CDFs (not on the engine): if a library upgrade moves them,
    this fails first, and the versions recorded in every results file explain old ones."""
    scenario = load(SCENARIO)
    ds = simulate(scenario, draws=4, seed=SEED, keep_paths=False)
    first = {str(path): round(float(ds["sampled"].sel(input=path).values[0]), 9) for path in ds["input"].values[:3]}
    versions = {k: ds.attrs[k] for k in ("numpy_version", "scipy_version")}
    assert first == PINNED_FIRST_DRAW, f"the parameter stream moved (now {first}) with {versions}"


# Recorded with numpy 2.4.6, scipy 1.17.1 (seed 2024, first draw of block 0).
PINNED_FIRST_DRAW = {
    "segments.smb.acv": 2623.663888867,
    "segments.smb.gross_margin": 0.72316652,
    "segments.smb.annual_churn": 0.297967711,  # tied to the conversion by the scenario's copula
}
