"""The board pack (PDF, PNG/SVG charts, self-contained HTML) from plots and summaries.

``write_board_pack(results, out_dir)`` writes everything; ``render_board_pack(path, out_dir)``
starts from a ``results.nc`` file (``simkit report results.nc``). The small summaries the
charts need (P(paid back by month m), P(out of cash by month m), P(stage reached by month m))
are in :mod:`simkit.report.summaries` and import neither matplotlib nor the plots.
"""

from importlib import import_module

__all__ = [
    "write_board_pack",
    "render_board_pack",
    "headlines",
    "payback_probability",
    "cash_out_probability",
    "stage_probability",
]

_LAZY = {
    "write_board_pack": "simkit.report.pack",
    "render_board_pack": "simkit.report.pack",
    "headlines": "simkit.report.pack",
    "payback_probability": "simkit.report.summaries",
    "cash_out_probability": "simkit.report.summaries",
    "stage_probability": "simkit.report.summaries",
}


def __getattr__(name: str):
    try:
        module = import_module(_LAZY[name])
    except KeyError:
        raise AttributeError(f"module 'simkit.report' has no attribute {name!r}") from None
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
