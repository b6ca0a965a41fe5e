"""``simkit batch``: failure isolation, resumability, atomic files, one batch per folder,
and recovery from a batch killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from simkit.batch import LOCK, MANIFEST, _Lock, run_batch
from simkit.cli import main
from simkit.errors import SimkitError

GOOD = """\
[scenario]
name = "{name}"
horizon_months = {horizon}
draws = 200
seed = {seed}

[company]
starting_cash = 1_000_000
fixed_opex_per_month = 10_000

[segments.smb]
acv = {{ lognormal = {{ median = 2_400, sigma = 0.2 }} }}
gross_margin = 0.8
annual_churn = {{ beta = {{ mean = 0.2, concentration = 50 }} }}
starting_customers = 100

[motions.self_serve]
segment = "smb"
cost_per_lead = 100
conversion = {{ beta = {{ mean = 0.1, concentration = 200 }} }}

[allocation]
budget_per_month = {{ self_serve = 10_000 }}
"""

BROKEN = """\
[scenario]
name = "broken"
horizon_months = 12

[segments.smb]
acv = 2400
gross_margin = 1.7
"""


def _write_scenarios(folder: Path, names=("alpha", "beta"), horizon: int = 12, broken: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(names, start=1):
        (folder / f"{name}.toml").write_text(GOOD.format(name=name, horizon=horizon, seed=seed))
    if broken:
        (folder / "zz_broken.toml").write_text(BROKEN)
    return folder


def _opens(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf", decode_times=False) as ds:
        return ds.load()


def _status(result) -> dict[str, str]:
    return {Path(o.file).stem: o.status for o in result.outcomes}


@pytest.fixture
def batch(tmp_path):
    src = _write_scenarios(tmp_path / "src")
    out = tmp_path / "out"
    first = run_batch([src], out, pack=False)
    return src, out, first


def test_good_scenarios_finish_and_the_broken_one_is_named(batch):
    src, out, result = batch
    assert _status(result) == {"alpha": "done", "beta": "done", "zz_broken": "failed"}
    for name in ("alpha", "beta"):
        folder = out / name
        assert (folder / MANIFEST).is_file()
        manifest = json.loads((folder / MANIFEST).read_text())
        assert "results.nc" in manifest["files"] and manifest["draws"] == 200
        ds = _opens(folder / "results.nc")
        assert ds.attrs["scenario_name"] == name and ds.sizes["draw"] == 200
    failed = result.failed
    assert len(failed) == 1 and failed[0].file.endswith("zz_broken.toml")
    assert "gross_margin" in failed[0].reason  # the reason names the field at fault
    index = (out / "index.html").read_text()
    assert "zz_broken.toml" in index and "alpha" in index and "beta" in index


def test_batch_cli_exits_1_and_writes_the_index(tmp_path, capsys):
    src = _write_scenarios(tmp_path / "src")
    out = tmp_path / "out"
    code = main(["batch", str(src), "--out", str(out), "--no-pack"])
    captured = capsys.readouterr()
    assert code == 1
    assert (out / "index.html").is_file()
    assert "zz_broken.toml" in captured.err and "2 simulated" in captured.out
    assert (out / "alpha" / "results.nc").is_file() and (out / "beta" / "results.nc").is_file()


def test_rerun_skips_up_to_date_scenarios_without_rewriting(batch):
    src, out, _ = batch
    stamps = {n: (out / n / "results.nc").stat().st_mtime_ns for n in ("alpha", "beta")}
    inodes = {n: (out / n / "results.nc").stat().st_ino for n in ("alpha", "beta")}
    again = run_batch([src], out, pack=False)
    assert _status(again) == {"alpha": "skipped", "beta": "skipped", "zz_broken": "failed"}
    for name in ("alpha", "beta"):
        stat = (out / name / "results.nc").stat()
        assert stat.st_mtime_ns == stamps[name] and stat.st_ino == inodes[name]
    assert (out / "index.html").read_text().count("alpha") >= 1  # skipped rows stay in the index


def test_changing_draws_reruns(batch):
    src, out, _ = batch
    again = run_batch([src], out, pack=False, draws=300)
    assert _status(again)["alpha"] == "done" and _status(again)["beta"] == "done"
    assert _opens(out / "alpha" / "results.nc").sizes["draw"] == 300
    assert json.loads((out / "alpha" / MANIFEST).read_text())["draws"] == 300


def test_editing_a_scenario_reruns_only_that_one(batch):
    src, out, _ = batch
    (src / "beta.toml").write_text(GOOD.format(name="beta", horizon=18, seed=2))
    again = run_batch([src], out, pack=False)
    assert _status(again)["alpha"] == "skipped" and _status(again)["beta"] == "done"
    assert _opens(out / "beta" / "results.nc").sizes["month"] == 18


def test_a_folder_without_its_manifest_is_redone(batch):
    src, out, _ = batch
    (out / "alpha" / MANIFEST).unlink()  # as if killed after results.nc, before the manifest
    before = (out / "alpha" / "results.nc").stat().st_mtime_ns
    again = run_batch([src], out, pack=False)
    assert _status(again)["alpha"] == "done" and _status(again)["beta"] == "skipped"
    assert (out / "alpha" / MANIFEST).is_file()
    assert (out / "alpha" / "results.nc").stat().st_mtime_ns != before


def test_a_missing_output_file_is_redone(batch):
    src, out, _ = batch
    (out / "beta" / "summary.csv").unlink()
    again = run_batch([src], out, pack=False)
    assert _status(again)["beta"] == "done" and (out / "beta" / "summary.csv").is_file()


def test_a_second_batch_on_a_locked_folder_is_refused(batch, capsys):
    src, out, _ = batch
    stamp = (out / "alpha" / "results.nc").stat().st_mtime_ns
    with _Lock(out):
        with pytest.raises(SimkitError, match="another simkit batch is writing to"):
            run_batch([src], out, pack=False, draws=300)
        assert main(["batch", str(src), "--out", str(out), "--no-pack", "--draws", "300"]) == 1
        assert "another simkit batch" in capsys.readouterr().err
    assert (out / "alpha" / "results.nc").stat().st_mtime_ns == stamp  # nothing was touched
    # Released: the next batch runs.
    assert _status(run_batch([src], out, pack=False, draws=300))["alpha"] == "done"


def test_lock_is_held_across_processes(batch):
    """The lock is an OS lock: another process holding it blocks this one."""
    src, out, _ = batch
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time\n"
         f"h = open({str(out / LOCK)!r}, 'a+'); fcntl.flock(h, fcntl.LOCK_EX)\n"
         "print('locked', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SimkitError, match="another simkit batch"):
            run_batch([src], out, pack=False)
    finally:
        holder.kill()
        holder.wait()
    assert _status(run_batch([src], out, pack=False))["alpha"] == "skipped"


def _children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc; zombies excluded)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_a_batch_killed_mid_run_completes_on_rerun(tmp_path):
    """Killed while its two worker processes simulate: the folder's lock is free at once
    (the workers never held it), the workers end with the batch, and a rerun completes
    what is missing."""
    names = ("s1", "s2", "s3", "s4")
    src = _write_scenarios(tmp_path / "src", names=names, horizon=36, broken=False)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "simkit.cli", "batch", str(src), "--out", str(out), "--no-pack",
               "--draws", "12000", "--workers", "2"]
    env = {**os.environ, "CI": "1"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    workers = []
    try:
        while not workers:  # inside a scenario's simulation: its pool's workers are running
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the batch never started its workers"
            workers = _children_of(process.pid) if (out / "s1").is_dir() else []
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    # The lock was the batch's alone (its workers closed their copies when forked): free now.
    with _Lock(out):
        pass
    # And the workers end with the batch rather than compute for nobody.
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(_alive(pid) for pid in workers), "workers outlived the killed batch"
    assert not (out / "index.html").exists()  # killed before the end
    finished_before = {n for n in names if (out / n / MANIFEST).is_file()}
    assert len(finished_before) < len(names)

    # A file with a finished name is finished: temporary files are hidden and end in .tmp.
    for path in out.rglob("*"):
        if path.is_file() and path.name.endswith(".tmp"):
            assert path.name.startswith("."), path
    for name in finished_before:
        assert _opens(out / name / "results.nc").sizes["draw"] == 12000

    again = run_batch([src], out, pack=False, draws=12000)
    status = _status(again)
    assert not again.failed
    assert {n for n, s in status.items() if s == "skipped"} == finished_before
    assert all(status[n] == "done" for n in names if n not in finished_before)
    for name in names:
        ds = _opens(out / name / "results.nc")
        assert ds.sizes["draw"] == 12000 and ds.attrs["scenario_name"] == name
        manifest = json.loads((out / name / MANIFEST).read_text())
        assert all((out / name / f).is_file() for f in manifest["files"])
        assert not any(f.endswith(".tmp") for f in manifest["files"])
    assert (out / "index.html").is_file()
    leftovers = [p for p in out.rglob("*.tmp")]
    assert all(p.name.startswith(".") for p in leftovers)


def _holds(descriptor: int, path: Path) -> bool:
    """Whether ``descriptor`` is open on the file ``path`` (a closed number may be reused)."""
    try:
        held, wanted = os.fstat(descriptor), os.stat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (wanted.st_dev, wanted.st_ino)


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork hooks on this platform")
def test_a_forked_worker_closes_its_copy_of_the_batch_lock(tmp_path):
    """An flock belongs to the open file: a worker's inherited copy would keep the folder
    locked after the batch died. Forked processes close theirs at once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with _Lock(tmp_path) as lock:
        descriptor = lock.handle.fileno()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            held_by_worker = pool.submit(_holds, descriptor, lock.path).result()
        assert _holds(descriptor, lock.path)  # the batch itself keeps its lock
    assert not held_by_worker
