"""The ``simkit run`` job: simulate, save, summarize, print and render the board pack.

This is the layer that knows about files and terminals; everything it calls below returns
Datasets. Every file is written to a temporary name and renamed into place, so a run that
is killed never leaves a file that looks finished but is not.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import sys
import tempfile
from pathlib import Path

from .errors import SimkitError

__all__ = ["execute", "run_scenario", "render_report", "write_results", "summary_rows", "format_segment_table",
           "atomic_write", "default_output_folder"]


def default_output_folder(scenario_name: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", scenario_name).strip("._") or "scenario"
    return Path("reports") / slug


def _prepare_folder(out: Path) -> Path:
    """Create ``out`` (and parents), check it is writable, and remove temporary files that a
    killed run left behind (``.NAME.HOST-PID.XXXXXXXX.tmp`` of a process of this machine that
    no longer exists; untagged ``.NAME.XXXXXXXX.tmp`` older than a day)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SimkitError(f"cannot create the output folder {out}: a file of that name is in the way") from None
    except OSError as exc:
        raise SimkitError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    if not out.is_dir():
        raise SimkitError(f"cannot use the output folder {out}: it is not a folder")
    if not os.access(out, os.W_OK | os.X_OK):
        raise SimkitError(f"the output folder {out} is not writable")
    import socket
    import time

    host = re.sub(r"[^A-Za-z0-9_-]+", "_", socket.gethostname())[:40] or "host"
    tagged = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[A-Za-z0-9_]{8}\.tmp$")
    untagged = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
    for folder in (out, out / "charts"):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = tagged.match(entry.name)
            try:
                if match and match["host"] == host:
                    pid = int(match["pid"])
                    if pid == os.getpid():
                        continue
                    try:
                        os.kill(pid, 0)
                        continue  # still running: its temporary is in use
                    except ProcessLookupError:
                        pass
                    except (PermissionError, OverflowError):
                        continue
                elif not untagged.match(entry.name) or time.time() - entry.stat().st_mtime < 86_400:
                    continue
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
            except OSError:
                continue  # cleaning is a courtesy; never fail a run over it
    return out


def atomic_write(path: Path, write) -> Path:
    """Call ``write(temporary_path)`` then rename the result to ``path``.

    The temporary is a hidden file in the same folder (``.NAME.HOST-PID.XXXXXXXX.tmp``),
    flushed to disk before the rename, so ``path`` is either the complete new file or
    whatever was there before, even if the process is killed. A failure to write (disk
    full, folder not writable) raises :class:`SimkitError` naming the file and folder.
    """
    import socket

    path = Path(path)
    folder = path.parent
    host = re.sub(r"[^A-Za-z0-9_-]+", "_", socket.gethostname())[:40] or "host"

    def failed(reason: str) -> SimkitError:
        return SimkitError(f"cannot write {path.name} in the output folder {folder}: {reason}")

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{host}-{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise failed(exc.strerror or str(exc)) from None
    os.close(handle)
    try:
        write(Path(temporary))
        # mkstemp creates the file 0600; results are for sharing, so honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the data is on disk before the name points at it
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
        try:
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)  # and so is the rename
            finally:
                os.close(descriptor)
        except OSError:
            pass  # not every file system can sync a folder; the file itself is complete
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise failed(exc.strerror or str(exc)) from None
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        # HDF5 reports a failed write (disk full, file size limit) as a RuntimeError whose
        # text carries the errno: that is the disk's problem, not a bug.
        found = re.search(r"errno = (\d+), error message = '([^']*)'", str(exc)) if isinstance(exc, Exception) else None
        if found:
            raise failed(found[2] or os.strerror(int(found[1]))) from None
        raise
    return path


def write_results(ds, path: Path) -> Path:
    """Save results as netCDF-4 (h5netcdf), atomically.

    Checks first that the file fits (free space of the folder's disk, and the process's
    file size limit): HDF5 does not recover from a write that fails halfway (h5py can even
    crash the interpreter afterwards), so a full disk must be caught before it starts.
    """
    path = Path(path)
    needed = int(ds.nbytes * 1.05) + sum(len(str(v)) for v in ds.attrs.values()) + 2**20
    try:
        disk = os.statvfs(path.parent)
        free = disk.f_bavail * disk.f_frsize
    except (OSError, AttributeError):
        free = None  # no statvfs (Windows) or the folder is gone: atomic_write will say so
    if free is not None and needed > free:
        raise SimkitError(f"cannot write {path.name} in the output folder {path.parent}: about "
                          f"{needed / 1e6:,.1f} MB are needed and only {free / 1e6:,.1f} MB are free on that disk")
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        limit = None
    if limit is not None and limit != resource.RLIM_INFINITY and needed > limit:
        raise SimkitError(f"cannot write {path.name} in the output folder {path.parent}: about "
                          f"{needed / 1e6:,.1f} MB are needed and files are limited to {limit / 1e6:,.1f} MB "
                          "(ulimit -f)")
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))


def summary_rows(ds, bands, probabilities):
    """Tidy rows: scenario, segment, metric, quantile, threshold, value."""
    from .summarize import KEY_METRICS

    name = ds.attrs.get("scenario_name", "")
    rows = []
    for segment in bands["segment"].values:
        for metric in KEY_METRICS:
            for q in bands["quantile"].values:
                value = float(bands[metric].sel(segment=segment, quantile=q))
                rows.append((name, str(segment), metric, f"{q:g}", "", value))
        for threshold in probabilities["threshold"].values:
            p = float(probabilities["probability"].sel(segment=segment, threshold=threshold))
            if not math.isnan(p):
                rows.append((name, str(segment), "probability", "", str(threshold), p))
                se = float(probabilities["std_error"].sel(segment=segment, threshold=threshold))
                rows.append((name, str(segment), "probability_std_error", "", str(threshold), se))
    for q in bands["quantile"].values:
        rows.append((name, "company", "total_arr_final", f"{q:g}", "",
                     float(bands["total_arr"].isel(month=-1).sel(quantile=q))) if "total_arr" in bands else None)
        rows.append((name, "company", "cash_final", f"{q:g}", "",
                     float(bands["cash"].isel(month=-1).sel(quantile=q))) if "cash" in bands else None)
    return [r for r in rows if r is not None]


def _write_summary_csv(rows, path: Path) -> Path:
    def write(tmp: Path):
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["scenario", "segment", "metric", "quantile", "threshold", "value"])
            for row in rows:
                writer.writerow([*row[:5], repr(row[5]) if isinstance(row[5], float) else row[5]])

    return atomic_write(path, write)


_THRESHOLD_LABELS = {
    "ltv_cac_min": "LTV:CAC>={v:g}",
    "payback_months_max": "payback<={v:g}mo",
    "cac_max": "CAC<={money}",
    "annual_churn_max": "churn<={pct}",
    "annual_expansion_min": "expansion>={pct}",
    "nrr_min": "NRR>={pct}",
    "grr_min": "GRR>={pct}",
    "cs_cost_share_max": "CS cost<={pct} of rev",
    "cs_cost_per_account_max": "CS cost<={money}/acct",
    "all": "all thresholds",
}


def threshold_label(key: str, value: float, currency: str = "USD") -> str:
    """Short human label of a threshold, e.g. ``LTV:CAC>=3``."""
    from .economics import format_money

    template = _THRESHOLD_LABELS.get(key, key)
    if math.isnan(value):
        return template if "{" not in template else key
    return template.format(v=value, money=format_money(value, currency), pct=f"{value:.0%}")


def format_segment_table(bands, probabilities, currency: str = "USD") -> str:
    """The terminal summary: one block per segment, numbers a CFO reads aloud."""
    from .economics import format_money

    out = io.StringIO()
    for segment in bands["segment"].values:
        b = bands.sel(segment=segment)
        ltv_cac = [float(b["ltv_cac"].sel(quantile=q)) for q in (0.05, 0.5, 0.95)]
        payback = float(b["payback_months"].sel(quantile=0.5))
        cac = float(b["cac"].sel(quantile=0.5))
        out.write(f"\n{segment}\n")
        out.write(f"  LTV:CAC        p5 {ltv_cac[0]:6.2f}   p50 {ltv_cac[1]:6.2f}   p95 {ltv_cac[2]:6.2f}\n")
        payback_text = "not within the LTV window" if math.isinf(payback) or math.isnan(payback) else f"{payback:.0f} months"
        out.write(f"  CAC payback    p50 {payback_text}\n")
        out.write(f"  CAC            p50 {format_money(cac, currency)}\n")
        p = probabilities.sel(segment=segment)
        for threshold in p["threshold"].values:
            prob = float(p["probability"].sel(threshold=threshold))
            if math.isnan(prob):
                continue
            se = float(p["std_error"].sel(threshold=threshold))
            label = threshold_label(str(threshold), float(p["threshold_value"].sel(threshold=threshold)), currency)
            out.write(f"  P({label}){'':<{max(1, 26 - len(label))}}{prob:5.2f} +/- {se:.3f}\n")
    return out.getvalue()


def progress_line(label: str, done: int, total: int, detail: str) -> None:
    """Redraw a one-line progress bar on stderr (callers show it only on a terminal)."""
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {detail}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


class _ProgressBar:
    """Progress of one simulation, in draws."""

    def __init__(self, label: str):
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        progress_line(self.label, done, total, f"{done:,}/{total:,} draws")


def execute(scenario, folder: Path, *, draws=None, seed=None, workers=1, pack=True, progress=None,
            scheduler=None) -> dict:
    """Simulate one scenario into ``folder``: results.nc, summary.csv and the board pack.

    Returns a dict with the results Dataset (``results``), its ``bands`` and
    ``probabilities``, and the ``files`` written.
    """
    from .simulation import simulate
    from .summarize import bands as compute_bands
    from .summarize import threshold_probabilities

    folder = _prepare_folder(Path(folder))
    ds = simulate(scenario, draws=draws, seed=seed, workers=workers, progress=progress, scheduler=scheduler)
    written = [write_results(ds, folder / "results.nc")]
    band = compute_bands(ds)
    probabilities = threshold_probabilities(ds)
    written.append(_write_summary_csv(summary_rows(ds, band, probabilities), folder / "summary.csv"))
    if pack:
        from .report import write_board_pack

        files = write_board_pack(ds, folder, bands=band, probabilities=probabilities, workers=workers)
        written += [p for paths in files.values() for p in paths]
    return {"results": ds, "bands": band, "probabilities": probabilities, "files": written}


def run_scenario(path, *, draws=None, seed=None, workers=1, out=None, pack=True, progress=False,
                 scheduler=None) -> int:
    """Load, simulate, save ``results.nc`` and ``summary.csv``, print, render the pack."""
    from .scenario.load import load

    scenario = load(path)
    folder = Path(out) if out else default_output_folder(scenario.name)
    done = execute(scenario, folder, draws=draws, seed=seed, workers=workers, pack=pack,
                   progress=_ProgressBar(scenario.name) if progress else None, scheduler=scheduler)
    ds = done["results"]
    print(f"{scenario.name}: {ds.attrs['draws']:,} simulated futures over {scenario.horizon_months} months "
          f"(seed {ds.attrs['seed_entropy']})")
    print(format_segment_table(done["bands"], done["probabilities"], scenario.currency))
    print(f"wrote {len(done['files'])} files to {folder}/ (results.nc, summary.csv"
          f"{', board_pack.pdf, report.html, charts/' if pack else ''})")
    return 0


def render_report(results_path, *, out=None, workers=1) -> int:
    """Re-render the board pack from saved results, without simulating again."""
    results_path = Path(results_path)
    if not results_path.is_file():
        raise SimkitError(f"{results_path}: no such results file (expected results.nc from 'simkit run')")
    from .report import render_board_pack

    folder = _prepare_folder(Path(out) if out else results_path.parent)
    files = render_board_pack(results_path, folder, workers=workers)
    count = sum(len(v) for v in files.values())
    print(f"wrote {count} files to {folder}/")
    return 0


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(  # noqa: E731
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def format_stress_table(result, currency: str = "USD") -> str:
    """Per segment: P(each threshold) under every stress, with the paired change."""
    out = []
    target = result.attrs.get("target_probability", 0.5)
    for segment in result["segment"].values:
        p = result["probability"].sel(segment=segment)
        thresholds = [t for t in p["threshold"].values if not bool(p.sel(threshold=t).isnull().all())]
        if not thresholds:
            continue
        labels = [threshold_label(str(t), float(result["threshold_value"].sel(segment=segment, threshold=t)), currency)
                  for t in thresholds]
        rows = []
        for stress_name in result["stress"].values:
            cells = [str(stress_name)]
            for t in thresholds:
                value = float(p.sel(stress=stress_name, threshold=t))
                change = float(result["probability_change"].sel(segment=segment, stress=stress_name, threshold=t))
                flag = "!" if value < target else " "
                cells.append(f"{value:.2f}{flag}" if stress_name == "baseline" else f"{value:.2f}{flag} ({change:+.2f})")
            rows.append(cells)
        out.append(f"\n{segment}: P(clears threshold) under each stress (change vs baseline; ! = below {target:g})")
        out.append(_table(["stress", *labels], rows))
    return "\n".join(out)


def run_stress(path, *, suite="standard", target=0.5, reverse=(), threshold="ltv_cac_min", draws=None, seed=None,
               workers=1, out=None, frontier=None) -> int:
    """``simkit stress``: the suite with common random numbers, reverse stress tests, files.

    Besides ``stress.nc`` the folder receives what ``simkit run`` writes for the baseline
    (same draws and seed: ``results.nc``, ``summary.csv``) and its board pack with the
    stress, driver and (with ``frontier``, see :func:`_frontier_spec`) frontier pages.
    """
    from .analysis.stress import reverse_stress, stress
    from .scenario.load import load

    scenario = load(path)
    frontier_args = _frontier_spec(frontier, scenario) if frontier else None
    for item in reverse:
        if ":" not in item:
            raise SimkitError(f"--reverse {item!r}: expected SEGMENT:INPUT, e.g. enterprise:segments.enterprise.annual_churn")
        segment, _ = item.split(":", 1)
        if segment not in scenario.segments:
            raise SimkitError(f"--reverse {item!r}: no segment {segment!r} in {path}; segments: "
                              f"{', '.join(scenario.segments)}")
    folder = _prepare_folder(Path(out) if out else default_output_folder(scenario.name))
    # The baseline is simulated once, with its month paths, for both the stress table and the pack.
    baseline = execute(scenario, folder, draws=draws, seed=seed, workers=workers, pack=False)
    result = stress(scenario, suite=suite, draws=draws, seed=seed, workers=workers, target_probability=target,
                    baseline=baseline["results"])
    write_results(result, folder / "stress.nc")
    print(f"{scenario.name}: stress test on {result.attrs['draws']:,} paired draws (common random numbers)")
    for name, description in zip(result["stress"].values, result["stress_description"].values):
        print(f"  {name}: {description}")
    print(format_stress_table(result, scenario.currency))
    reverse_results = []
    for item in reverse:
        segment, input_path = item.split(":", 1)
        try:
            found = reverse_stress(scenario, input=input_path, segment=segment, threshold=threshold,
                                   target_probability=target, draws=draws, seed=seed, workers=workers)
        except (KeyError, ValueError) as exc:
            raise SimkitError(f"--reverse {item!r}: {exc.args[0] if exc.args else exc}") from None
        reverse_results.append(found)
        shock = found["breaking_shock"]
        if math.isnan(shock):
            text = f"still clears it with P >= {target:g} at the furthest shock tried (x{found['bracket'][1]:g})"
        elif shock == 1.0 and found["baseline_probability"] < target:
            text = f"already below P = {target:g} without any shock (P = {found['baseline_probability']:.2f})"
        else:
            text = f"stops clearing it with P >= {target:g} once {input_path} is scaled by x{shock:.2f}"
        print(f"\nreverse stress: {segment} / {threshold}: {text}")
    frontier_result = None
    if frontier_args is not None:
        from .analysis.stress import frontier as compute_frontier

        try:
            frontier_result = compute_frontier(scenario, **frontier_args, threshold=threshold, draws=draws, seed=seed,
                                               workers=workers)
        except (KeyError, ValueError) as exc:
            raise SimkitError(f"--frontier {frontier!r}: {exc.args[0] if exc.args else exc}") from None
        write_results(frontier_result, folder / "frontier.nc")
        grid = frontier_result["probability"]
        held = int((grid >= target).sum())
        print(f"\nfrontier: {frontier_args['segment']} / {threshold} holds P >= {target:g} in {held} of {grid.size} "
              f"combinations of {frontier_args['x'][0]} and {frontier_args['y'][0]} (frontier.nc)")
    files = _add_pages(folder, baseline, stress_result=result, frontier_result=frontier_result, threshold=threshold,
                       workers=workers)
    print(f"\nwrote stress.nc{', frontier.nc' if frontier_result is not None else ''} and the baseline's "
          f"results.nc, summary.csv and board pack ({len(files)} files) to {folder}/")
    return 0


def format_compare_table(result, currency: str = "USD") -> str:
    from .economics import format_money

    reference = result.attrs["reference_plan"]
    out = [f"P(plan beats {reference}) on paired draws, and the median difference (plan - {reference})"]
    rows = []
    for plan in result["plan"].values[1:]:
        for measure in result["company_measure"].values:
            p = float(result["p_better_company"].sel(plan=plan, company_measure=measure))
            diff = float(result["difference_company"].sel(plan=plan, company_measure=measure, quantile=0.5))
            rows.append([str(plan), "company", str(measure), f"{p:.2f}", format_money(diff, currency)])
        for segment in result["segment"].values:
            for measure in result["segment_measure"].values:
                p = float(result["p_better_segment"].sel(plan=plan, segment=segment, segment_measure=measure))
                if math.isnan(p):
                    continue
                diff = float(result["difference_segment"].sel(plan=plan, segment=segment, segment_measure=measure,
                                                              quantile=0.5))
                shown = format_money(diff, currency) if measure in ("arr_final", "cac") else f"{diff:+.2f}"
                rows.append([str(plan), str(segment), str(measure), f"{p:.2f}", shown])
    out.append(_table(["plan", "segment", "measure", "P(better)", "median difference"], rows))
    return "\n".join(out)


def run_compare(paths, *, draws=None, seed=None, workers=1, out=None) -> int:
    """``simkit compare``: paired comparison of plans, printed and saved."""
    from .analysis.compare import compare
    from .scenario.load import load

    scenarios = [load(p) for p in paths]
    folder = _prepare_folder(Path(out) if out else Path("reports") / (
        "compare_" + "_vs_".join(default_output_folder(s.name).name for s in scenarios)))
    reference = execute(scenarios[0], folder, draws=draws, seed=seed, workers=workers, pack=False)
    result = compare(scenarios, draws=draws, seed=seed, workers=workers, reference_results=reference["results"])
    write_results(result, folder / "compare.nc")
    print(f"{len(scenarios)} plans on {result.attrs['draws']:,} paired draws")
    print(format_compare_table(result, scenarios[0].currency))
    files = _add_pages(folder, reference, compare_result=result, workers=workers)
    print(f"\nwrote compare.nc and the reference plan's results.nc, summary.csv and board pack "
          f"({len(files)} files) to {folder}/")
    return 0


def _add_pages(folder: Path, done: dict, *, stress_result=None, compare_result=None, frontier_result=None,
               threshold: str = "ltv_cac_min", workers: int = 1) -> list[Path]:
    """The board pack of the baseline with the analysis pages after the standard ones.

    ``done`` is what :func:`execute` returned for the baseline / reference scenario (its
    ``results.nc`` and ``summary.csv`` are already written; its futures are the analyses'
    baseline futures). Writes the pack with: the stress impact, the
    LTV:CAC tornado and the ARR drivers of the baseline (with ``stress_result``), the
    frontier (with ``frontier_result``) and the plan comparison (with ``compare_result``).
    Returns every file written.
    """
    from .analysis.sensitivity import sensitivity
    from .plots import _style as st
    from .plots.analysis import analysis_figures
    from .report import write_board_pack

    results = done["results"]
    drivers = None
    if stress_result is not None:
        try:
            drivers = sensitivity(results)
        except ValueError:  # every input fixed: nothing but process noise drives the spread
            drivers = None
    threshold_value = None
    if frontier_result is not None and threshold != "all":
        segment = frontier_result.attrs["segment"]
        value = results["threshold_value"].sel(segment=segment, threshold=threshold)
        threshold_value = float(value) if not math.isnan(float(value)) else None
    target = stress_result.attrs.get("target_probability") if stress_result is not None else None
    with st.detached():
        figures = analysis_figures(stress=stress_result, sensitivity=drivers, compare=compare_result,
                                   frontier=frontier_result, provenance=results.attrs, target=target,
                                   frontier_threshold_value=threshold_value)
    files = write_board_pack(results, folder, bands=done["bands"], probabilities=done["probabilities"],
                             extra_figures=figures, workers=workers)
    return [*done["files"], *(p for paths in files.values() for p in paths)]


def _frontier_spec(spec: str, scenario) -> dict:
    """``--frontier`` text -> :func:`simkit.frontier` arguments.

    ``SEGMENT`` alone: the segment's motion's conversion x0.5 to x1 against its sales cycle
    +0 to +6 months (the expansion plan's usual question). Or
    ``SEGMENT:X_INPUT*V,V,...:Y_INPUT+V,V,...``: ``*`` scales the input by each value,
    ``+`` shifts it (dotted paths, wildcards allowed).
    """
    parts = spec.split(":")
    segment = parts[0]
    if segment not in scenario.segments:
        raise SimkitError(f"--frontier {spec!r}: no segment {segment!r}; segments: {', '.join(scenario.segments)}")
    if len(parts) == 1:
        motions = [name for name, motion in scenario.motions.items() if motion.segment == segment]
        if len(motions) != 1:
            raise SimkitError(f"--frontier {spec!r}: segment {segment!r} has {len(motions)} motions; name the two "
                              "inputs, e.g. SEGMENT:motions.NAME.conversion*0.5,0.75,1:motions.NAME.sales_cycle_months"
                              "+0,3,6")
        motion = motions[0]
        return {"segment": segment, "x": (f"motions.{motion}.conversion", "scale", [0.5, 0.625, 0.75, 0.875, 1.0]),
                "y": (f"motions.{motion}.sales_cycle_months", "shift", [0.0, 2.0, 4.0, 6.0])}
    if len(parts) != 3:
        raise SimkitError(f"--frontier {spec!r}: expected SEGMENT or SEGMENT:X_INPUT*V,V,...:Y_INPUT+V,V,...")

    def axis(text: str):
        cut = max(text.rfind("*"), text.rfind("+"))
        if cut <= 0:
            raise SimkitError(f"--frontier {spec!r}: {text!r} needs INPUT*V,V,... (scale) or INPUT+V,V,... (shift)")
        try:
            values = [float(v) for v in text[cut + 1:].split(",") if v.strip()]
        except ValueError:
            raise SimkitError(f"--frontier {spec!r}: {text[cut + 1:]!r} is not a list of numbers") from None
        if not values:
            raise SimkitError(f"--frontier {spec!r}: {text!r} has no values")
        path = text[:cut]
        if not scenario.match_inputs(path):
            raise SimkitError(f"--frontier {spec!r}: {path!r} matches no input of {scenario.name!r}")
        return (path, "scale" if text[cut] == "*" else "shift", values)

    return {"segment": segment, "x": axis(parts[1]), "y": axis(parts[2])}
