"""Faults: a run killed halfway, an output folder that cannot be written, a full disk, and
two batches racing for one folder.

What must hold whatever happens:

* no file looks finished but is not: ``results.nc`` is either absent, the previous
  complete file, or the new complete file; partial data only ever lives in hidden
  temporaries (``.results.nc.HOST-PID.XXXXXXXX.tmp``), which the next run removes once
  the process that wrote them is gone;
* an output folder that cannot be used, or a disk that fills up, gives one clear line
  naming the folder, exit code 1, and no traceback;
* a second batch on a folder a batch is writing to is refused (a lock), not interleaved.

The tests run as root in CI, where ``chmod 0500`` does not stop anyone writing: an
unwritable folder is made with a path under a regular file (``out/file.txt/sub``, which
no user can create), a full disk with the process's file-size limit (``RLIMIT_FSIZE``, a
real kernel error on a real write) and with monkeypatched writes raising ``ENOSPC``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from simkit import run as run_module
from simkit.batch import LOCK, run_batch
from simkit.cli import main
from simkit.errors import SimkitError

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "pre_pmf_smb.toml"
TEMPORARY = re.compile(r"^\.(results\.nc|summary\.csv)\.[A-Za-z0-9_-]+-\d+\.[A-Za-z0-9_]{8}\.tmp$")


def cli(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


def spawn(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simkit.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the process ended before {what}: {process.returncode}\n{out}\n{err}")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def visible_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def draws_in(path: Path) -> int:
    """Open results.nc completely (every variable read) and return its number of draws."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds.load()
        assert int(ds.attrs["draws"]) == ds.sizes["draw"]
        return ds.sizes["draw"]


# =========================================================================================
# SIGKILL mid-run
# =========================================================================================
def test_killed_run_never_leaves_a_file_that_looks_finished(tmp_path):
    out = tmp_path / "out"
    # 1. a complete earlier run
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 1_000, "--out", out)
    assert code == 0, text
    assert draws_in(out / "results.nc") == 1_000
    before = {name: (out / name).read_bytes() for name in visible_files(out)}

    # 2. killed during the simulation, before any file is written
    victim = spawn("run", SCENARIO, "--no-pack", "--draws", 30_000, "--out", out)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert {name: (out / name).read_bytes() for name in visible_files(out)} == before

    # 3. killed while results.nc is being written: once its temporary holds a megabyte
    def partial_results():
        found = [p for p in out.iterdir() if p.name.startswith(".results.nc.")]
        return found if found and found[0].stat().st_size > 1_000_000 else None

    victim = spawn("run", SCENARIO, "--no-pack", "--draws", 30_000, "--out", out)
    temporary = wait_for(partial_results, 120, "results.nc's temporary to fill", victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    # the earlier results are untouched and complete; the partial one is a hidden temporary
    assert visible_files(out) == ["results.nc", "summary.csv"]
    assert draws_in(out / "results.nc") == 1_000
    assert (out / "summary.csv").read_bytes() == before["summary.csv"]
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers and all(TEMPORARY.match(name) for name in leftovers), leftovers
    assert str(victim.pid) in leftovers[0] and temporary[0].name in leftovers

    # 4. run again: completes, replaces both files, and removes the dead run's temporary
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 2_000, "--out", out)
    assert code == 0, text
    assert draws_in(out / "results.nc") == 2_000
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_a_live_runs_temporary_is_not_removed(tmp_path):
    # Another process (here: this one's parent, alive) owns the temporary: keep it.
    import socket

    host = re.sub(r"[^A-Za-z0-9_-]+", "_", socket.gethostname())[:40] or "host"
    live = tmp_path / f".results.nc.{host}-{os.getppid()}.abcdefgh.tmp"
    dead = tmp_path / f".results.nc.{host}-{2**22 + 12345}.abcdefgh.tmp"  # above pid_max: never alive
    stranger = tmp_path / ".results.nc.abcdefgh.tmp"  # untagged (e.g. the board pack's), recent
    keep = tmp_path / ".something_of_the_users.tmp"
    for path in (live, dead, stranger, keep):
        path.write_text("partial")
    run_module._prepare_folder(tmp_path)
    assert live.exists() and not dead.exists() and stranger.exists() and keep.exists()
    old = time.time() - 2 * 86_400
    os.utime(stranger, (old, old))
    run_module._prepare_folder(tmp_path)
    assert not stranger.exists() and keep.exists()


# =========================================================================================
# An output folder that cannot be written
# =========================================================================================
def test_output_folder_under_a_regular_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    out = blocker / "sub"
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 200, "--out", out)
    assert code == 1
    assert "Traceback" not in text
    assert f"simkit run: cannot create the output folder {out}: Not a directory" in text


def test_output_folder_is_a_file(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 200, "--out", blocker)
    assert code == 1 and "Traceback" not in text
    assert f"cannot create the output folder {blocker}: a file of that name is in the way" in text


def test_output_folder_not_writable(tmp_path, monkeypatch):
    # As root, chmod 0500 does not stop writes; the permission check itself is what is tested.
    out = tmp_path / "locked"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == out else real_access(p, mode, **kw))
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 200, "--out", out)
    assert code == 1 and "Traceback" not in text
    assert f"simkit run: the output folder {out} is not writable" in text


def test_batch_into_an_unusable_folder(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, text = cli("batch", SCENARIO, "--no-pack", "--draws", 100, "--out", blocker / "sub")
    assert code == 1 and "Traceback" not in text
    assert f"cannot create the output folder {blocker / 'sub'}" in text


# =========================================================================================
# A full disk
# =========================================================================================
def test_atomic_write_on_a_full_disk_names_file_and_folder_and_leaves_nothing(tmp_path):
    def fill_up(tmp: Path):
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = tmp_path / "summary.csv"
    target.write_text("the previous, complete file")
    with pytest.raises(SimkitError) as info:
        run_module.atomic_write(target, fill_up)
    assert str(info.value) == f"cannot write summary.csv in the output folder {tmp_path}: No space left on device"
    assert target.read_text() == "the previous, complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]


def test_atomic_write_translates_hdf5_write_failures(tmp_path):
    # h5py reports a failed write as RuntimeError with the errno in its text.
    def hdf5_fails(tmp: Path):
        raise RuntimeError("Can't decrement id ref count (file write failed: time = Mon, filename = 'x', "
                           "file descriptor = 3, errno = 28, error message = 'No space left on device', buf = 0x1)")

    with pytest.raises(SimkitError, match="cannot write results.nc in the output folder .*: No space left on device"):
        run_module.atomic_write(tmp_path / "results.nc", hdf5_fails)
    assert list(tmp_path.iterdir()) == []

    def a_bug(tmp: Path):
        raise RuntimeError("something else entirely")

    with pytest.raises(RuntimeError, match="something else entirely"):  # bugs are not disguised as disk errors
        run_module.atomic_write(tmp_path / "results.nc", a_bug)
    assert list(tmp_path.iterdir()) == []


def test_simkit_run_on_a_full_disk_in_process(tmp_path, monkeypatch):
    def no_space(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", no_space)
    out = tmp_path / "out"
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 200, "--out", out)
    assert code == 1 and "Traceback" not in text
    assert f"simkit run: cannot write results.nc in the output folder {out}: No space left on device" in text
    assert list(out.iterdir()) == []


def test_too_little_free_space_is_caught_before_writing(tmp_path, monkeypatch):
    class Almost:
        f_bavail, f_frsize = 10, 4096  # 40 KB free

    monkeypatch.setattr(os, "statvfs", lambda path: Almost())
    out = tmp_path / "out"
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 500, "--out", out)
    assert code == 1 and "Traceback" not in text
    assert re.search(rf"cannot write results.nc in the output folder {re.escape(str(out))}: about [\d.,]+ MB are "
                     r"needed and only 0.0 MB are free on that disk", text), text
    assert list(out.iterdir()) == []


def _file_size_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_file_size_limit_in_a_real_process(tmp_path):
    """A real kernel refusal (EFBIG under RLIMIT_FSIZE) in a real `simkit run` process."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "simkit.cli", "run", str(SCENARIO), "--no-pack", "--draws", "3000",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          preexec_fn=_file_size_limit)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert f"simkit run: cannot write results.nc in the output folder {out}" in text
    assert "(ulimit -f)" in text
    assert list(out.iterdir()) == []


def test_summary_write_failure_after_results(tmp_path, monkeypatch):
    """The second file fails: the first is complete, the second absent, exit 1."""
    real = run_module.atomic_write

    def failing_for_csv(path, write):
        if Path(path).name == "summary.csv":
            return real(path, lambda tmp: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
        return real(path, write)

    monkeypatch.setattr(run_module, "atomic_write", failing_for_csv)
    out = tmp_path / "out"
    code, text = cli("run", SCENARIO, "--no-pack", "--draws", 300, "--out", out)
    assert code == 1 and "Traceback" not in text
    assert f"cannot write summary.csv in the output folder {out}" in text
    assert visible_files(out) == ["results.nc"] and draws_in(out / "results.nc") == 300


# =========================================================================================
# Two batches, one folder
# =========================================================================================
def test_a_second_batch_on_the_same_folder_is_refused(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "a.toml").write_text(SCENARIO.read_text())
    out = tmp_path / "out"
    first = spawn("batch", scenarios, "--no-pack", "--draws", 30_000, "--out", out)
    try:
        # The scenario's folder is created inside the lock: from then on the lock is held.
        wait_for(lambda: any(p.is_dir() for p in out.glob("*")), 120, "the first batch to start", first)
        second = subprocess.run([sys.executable, "-m", "simkit.cli", "batch", str(scenarios), "--no-pack", "--draws",
                                 "30000", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        text = second.stdout + second.stderr
        assert second.returncode == 1, text
        assert "Traceback" not in text
        assert f"simkit batch: another simkit batch is writing to {out}; wait for it to finish or choose another " \
               "--out folder" in text
        assert first.poll() is None, "the refused batch must not have disturbed the first"
    finally:
        first.send_signal(signal.SIGKILL)  # a batch killed halfway: its lock dies with it
        first.wait(timeout=30)
    # the next batch takes the lock, redoes the unfinished scenario and finishes it
    result = run_batch([scenarios], out, draws=500, pack=False)
    assert [o.status for o in result.outcomes] == ["done"]
    assert draws_in(out / "pre_pmf_smb" / "results.nc") == 500
    assert not [p for p in (out / "pre_pmf_smb").iterdir() if p.name.endswith(".tmp")]
    # and a third, with nothing changed, finds it up to date
    assert [o.status for o in run_batch([scenarios], out, draws=500, pack=False).outcomes] == ["skipped"]


def test_lock_is_exclusive_within_one_machine(tmp_path):
    """The lock itself, without processes: a held lock refuses run_batch at once."""
    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SimkitError, match="another simkit batch is writing to"):
            run_batch([SCENARIO], out, draws=100, pack=False)


def test_batch_with_a_damaged_summary_redoes_the_scenario(tmp_path):
    out = tmp_path / "out"
    assert [o.status for o in run_batch([SCENARIO], out, draws=300, pack=False).outcomes] == ["done"]
    (out / "pre_pmf_smb" / "summary.json").write_text('{"truncated": ')
    assert [o.status for o in run_batch([SCENARIO], out, draws=300, pack=False).outcomes] == ["done"]


def test_a_scenario_named_like_the_index_does_not_replace_it(tmp_path):
    scenario = tmp_path / "index.toml"
    text, count = re.subn(r'(?m)^name = "pre_pmf_smb"$', 'name = "index.html"', SCENARIO.read_text())
    assert count == 1
    scenario.write_text(text)
    out = tmp_path / "out"
    result = run_batch([scenario], out, draws=200, pack=False)
    assert [o.status for o in result.outcomes] == ["done"], result.outcomes
    assert (out / "index.html").is_file()
    assert [Path(o.folder).name for o in result.outcomes] == ["index.html_"]
