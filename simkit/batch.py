"""Many scenarios at once: resumable, failure-isolated, atomically written.

``run_batch`` simulates every scenario into its own folder and writes an ``index.html``
that compares them side by side. Guarantees:

* **failure isolation**: a scenario that fails (bad file, or an error while running) is
  reported with its file name and reason; the others still run; the exit code says so;
* **resumable**: a scenario whose ``manifest.json`` records the same content hash of
  (scenario, simkit version, draws, seed) and whose files all exist is skipped;
* **atomic**: every file is written to a temporary name and renamed; the manifest is
  written last, so a folder without a matching manifest is simply redone;
* **one batch per folder**: a lock file refuses a second batch on the same output folder
  instead of letting the two interleave.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._version import __version__
from .errors import ScenarioError, SimkitError
from .run import _prepare_folder, atomic_write, default_output_folder, execute, progress_line

__all__ = ["run_batch", "find_scenarios", "BatchResult", "ScenarioOutcome"]

MANIFEST = "manifest.json"
LOCK = ".simkit-batch.lock"


@dataclass
class ScenarioOutcome:
    file: str
    name: str = ""
    folder: str = ""
    status: str = "pending"  # "done", "skipped" (up to date) or "failed"
    reason: str = ""


@dataclass
class BatchResult:
    outcomes: list[ScenarioOutcome] = field(default_factory=list)
    index: Path | None = None

    @property
    def failed(self) -> list[ScenarioOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def find_scenarios(sources: Sequence[str | os.PathLike]) -> list[Path]:
    """Scenario files named directly or found (``*.toml``, sorted) in the folders given."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.toml") if p.is_file()))
        else:
            files.append(path)  # a missing file is reported as that scenario's failure
    return list(dict.fromkeys(files))


def run_hash(scenario, draws: int, seed: int) -> str:
    """What must match for saved outputs to count as up to date."""
    key = json.dumps([scenario.content_hash, __version__, int(draws), str(seed)])
    return hashlib.sha256(key.encode()).hexdigest()


def _up_to_date(folder: Path, expected: str) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("run_hash") != expected:
        return False
    files = manifest.get("files", [])
    if not isinstance(files, list) or not all((folder / str(name)).is_file() for name in files):
        return False
    try:  # the index is rebuilt from summary.json: a damaged one means "redo", not "fail"
        return isinstance(json.loads((folder / "summary.json").read_text()), dict)
    except (OSError, ValueError):
        return False


# Lock files this process holds open. A forked process (a simulation worker, the board
# pack's helper) closes its copies at once: an flock belongs to the open file, so a copy
# left open in a worker would keep the folder locked after the batch itself had died.
_HELD_LOCKS: set = set()


def _close_inherited_locks() -> None:
    for handle in list(_HELD_LOCKS):
        handle.close()  # this copy only: no LOCK_UN, the parent keeps its lock
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


class _Lock:
    """An exclusive, non-blocking lock on the output folder, held by this process alone
    (released when it ends, however it ends)."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK
        self.handle = None

    def __enter__(self):
        import fcntl

        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.handle.close()
            raise SimkitError(f"another simkit batch is writing to {self.path.parent}; wait for it to finish "
                              "or choose another --out folder") from None
        _HELD_LOCKS.add(self.handle)
        return self

    def __exit__(self, *exc):
        import fcntl

        _HELD_LOCKS.discard(self.handle)
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _folder_names(scenarios: list[tuple[Path, object]]) -> list[str]:
    """A distinct folder per scenario: its name, or name + file stem when names repeat."""
    names = [default_output_folder(s.name).name if s is not None else default_output_folder(f.stem).name
             for f, s in scenarios]
    counts = {n: names.count(n) for n in names}
    # The batch's own files live beside the scenario folders: a scenario called
    # "index.html" must not take the index's place.
    result, used = [], {"index.html", "errors.log", LOCK, MANIFEST}
    for (file, _), name in zip(scenarios, names):
        candidate = name if counts[name] == 1 else f"{name}__{file.stem}"
        while candidate in used:
            candidate += "_"
        used.add(candidate)
        result.append(candidate)
    return result


def _index_row(name: str, file: Path, done: dict) -> dict:
    from .run import threshold_label

    band, probabilities, ds = done["bands"], done["probabilities"], done["results"]

    def q(var, quantile, **sel):
        value = float(band[var].sel(quantile=quantile, **sel))
        return value if math.isfinite(value) else None

    row = {
        "name": name, "file": str(file), "description": ds.attrs.get("scenario_description", ""),
        "draws": int(ds.attrs["draws"]), "currency": ds.attrs.get("currency", "USD"),
        "horizon_months": int(ds.attrs["horizon_months"]),
        "arr_final": [q("total_arr_final", x) for x in (0.05, 0.5, 0.95)],
        "cash_low": [q("cash_low", x) for x in (0.05, 0.5, 0.95)],
        "p_cash_runs_out": float((ds["runway_months"] < math.inf).mean()),
        "segments": {},
    }
    for segment in band["segment"].values:
        p = probabilities.sel(segment=segment)
        row["segments"][str(segment)] = {
            "ltv_cac": [q("ltv_cac", x, segment=segment) for x in (0.05, 0.5, 0.95)],
            "payback_p50": q("payback_months", 0.5, segment=segment),
            "thresholds": {
                str(t): {"label": threshold_label(str(t), float(p["threshold_value"].sel(threshold=t)), row["currency"]),
                         "probability": float(p["probability"].sel(threshold=t))}
                for t in p["threshold"].values if not math.isnan(float(p["probability"].sel(threshold=t)))
            },
        }
    return row


def run_batch(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *, draws=None, seed=None,
              workers: int = 1, pack: bool = True, progress=None, log=None, scheduler=None) -> BatchResult:
    """Run every scenario into ``out/<scenario>/`` and write ``out/index.html``.

    Parameters
    ----------
    sources : sequence of paths
        Scenario files and/or folders of ``*.toml`` files.
    out : path
        Output folder (created).
    draws, seed, workers, pack
        As for ``simkit run``.
    progress : callable, optional
        ``progress(scenarios_done, scenarios_total, name)`` after each scenario.
    log : callable, optional
        Receives one line per scenario (done / skipped / failed with reason).

    Returns
    -------
    BatchResult
        One outcome per scenario; ``failed`` lists the failures.
    """
    from .scenario.load import load

    out = _prepare_folder(Path(out))
    files = find_scenarios(sources)
    if not files:
        raise SimkitError(f"no scenario files (*.toml) found in {', '.join(map(str, sources))}")
    log = log or (lambda line: None)
    result = BatchResult()
    with _Lock(out):
        loaded: list[tuple[Path, object, str]] = []
        for file in files:
            try:
                loaded.append((file, load(file), ""))
            except ScenarioError as exc:
                loaded.append((file, None, str(exc)))
        folders = _folder_names([(f, s) for f, s, _ in loaded])
        rows = []
        for number, ((file, scenario, error), folder_name) in enumerate(zip(loaded, folders), start=1):
            outcome = ScenarioOutcome(file=str(file), folder=str(out / folder_name))
            result.outcomes.append(outcome)
            if scenario is None:
                outcome.status, outcome.reason = "failed", error
                log(f"FAILED  {file}: {error}")
                if progress:
                    progress(number, len(loaded), file.stem)
                continue
            outcome.name = scenario.name
            folder = out / folder_name
            n = scenario.draws if draws is None else draws
            s = scenario.seed if seed is None else seed
            expected = run_hash(scenario, n, s)
            try:
                if _up_to_date(folder, expected):
                    outcome.status = "skipped"
                    rows.append(json.loads((folder / "summary.json").read_text()))
                    log(f"up to date  {scenario.name} ({file})")
                else:
                    (folder / MANIFEST).unlink(missing_ok=True)  # from now on, not finished
                    done = execute(scenario, folder, draws=n, seed=s, workers=workers, pack=pack, scheduler=scheduler)
                    row = _index_row(folder_name, file, done)
                    rows.append(row)
                    summary = atomic_write(folder / "summary.json",
                                           lambda tmp: tmp.write_text(json.dumps(row, indent=1)))
                    names = sorted({str(Path(p).relative_to(folder)) for p in [*done["files"], summary]})
                    manifest = {"run_hash": expected, "scenario": scenario.name, "file": str(file),
                                "draws": n, "seed": str(s), "simkit_version": __version__, "files": names}
                    atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1)))
                    outcome.status = "done"
                    log(f"done    {scenario.name} -> {folder}/")
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # isolate: one scenario's failure must not stop the others
                outcome.status = "failed"
                outcome.reason = f"{type(exc).__name__}: {exc}"
                _append_error_log(out, file, traceback.format_exc())
                log(f"FAILED  {file}: {outcome.reason} (details in {out / 'errors.log'})")
            if progress:
                progress(number, len(loaded), scenario.name)
        result.index = write_index(out, rows, result.outcomes)
    return result


def _append_error_log(out: Path, file: Path, text: str) -> None:
    try:
        with open(out / "errors.log", "a") as handle:
            handle.write(f"--- {file}\n{text}\n")
    except OSError:
        pass


def _money(value, currency) -> str:
    from .economics import format_money

    return "n/a" if value is None else format_money(value, currency)


def write_index(out: Path, rows: list[dict], outcomes: list[ScenarioOutcome]) -> Path:
    """A self-contained ``index.html``: every scenario side by side."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>simkit batch</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border-bottom:1px solid #ddd;padding:.35em .7em;text-align:right}th:first-child,td:first-child"
        "{text-align:left}.bad{color:#b00020}.low{background:#fde2e2}.high{background:#e3f4e8}small{color:#666}",
        "</style></head><body><h1>simkit batch: scenarios side by side</h1>",
        f"<p><small>simkit {e(__version__)}. Ranges are 90% bands (p5 to p95) across simulated futures; "
        "probabilities are the share of futures that clear each health threshold.</small></p>",
        "<h2>Company</h2><table><tr><th>scenario</th><th>ARR at horizon p50</th><th>ARR p5 to p95</th>"
        "<th>lowest cash p50</th><th>P(cash runs out)</th><th>draws</th><th>pack</th></tr>",
    ]
    for row in rows:
        c = row["currency"]
        parts.append(
            f"<tr><td>{e(row['name'])}<br><small>{e(row['description'][:120])}</small></td>"
            f"<td>{_money(row['arr_final'][1], c)}</td>"
            f"<td>{_money(row['arr_final'][0], c)} to {_money(row['arr_final'][2], c)}</td>"
            f"<td>{_money(row['cash_low'][1], c)}</td><td>{row['p_cash_runs_out']:.0%}</td>"
            f"<td>{row['draws']:,}</td><td><a href='{e(row['name'])}/report.html'>report</a></td></tr>")
    parts.append("</table><h2>Segments</h2><table><tr><th>scenario / segment</th><th>LTV:CAC p50</th>"
                 "<th>LTV:CAC p5 to p95</th><th>payback p50</th><th>P(each threshold)</th></tr>")
    for row in rows:
        for segment, seg in row["segments"].items():
            cells = []
            for item in seg["thresholds"].values():
                p = item["probability"]
                css = "high" if p >= 0.8 else "low" if p < 0.5 else ""
                cells.append(f"<span class='{css}'>P({e(item['label'])}) {p:.0%}</span>")
            ltv = seg["ltv_cac"]
            fmt = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
            payback = seg["payback_p50"]
            parts.append(
                f"<tr><td>{e(row['name'])} / {e(segment)}</td><td>{fmt(ltv[1])}</td><td>{fmt(ltv[0])} to {fmt(ltv[2])}"
                f"</td><td>{'never' if payback is None else f'{payback:.0f} mo'}</td><td>{' &middot; '.join(cells)}</td></tr>")
    parts.append("</table>")
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        parts.append("<h2 class='bad'>Failed</h2><ul>")
        parts += [f"<li class='bad'><b>{e(o.file)}</b>: <pre>{e(o.reason)}</pre></li>" for o in failed]
        parts.append("</ul>")
    parts.append("</body></html>")
    text = "\n".join(parts)
    return atomic_write(out / "index.html", lambda tmp: tmp.write_text(text))


def _print_progress(done: int, total: int, name: str) -> None:
    progress_line("batch", done, total, f"{done}/{total} {name[:30]:<30}")
