"""Board-ready charts: summaries (Datasets) in, matplotlib Figures out.

Every chart takes the Datasets that :mod:`simkit.summarize` and
:mod:`simkit.report.summaries` produce (never computes a statistic itself), takes an
optional ``ax`` (then it draws its main panel there and returns the Axes; otherwise it
returns a new 16:9 Figure), and titles itself with the finding its data supports.

matplotlib is imported inside the functions, so importing this package is cheap;
``import simkit`` never imports it. The look lives in ``simkit.mplstyle``, applied through
:func:`style` (``plt.style.context``), never globally.

Months on charts are counted from 1: the data's month index 0 is "month 1".
"""

from ._style import footnote, label, money_formatter, palette, segment_colors, style, style_path
from .analysis import (analysis_figures, arr_drivers, frontier_chart, input_label, plan_comparison, stress_impact,
                       tornado)
from .cash import cash_chart
from .cover import cover_page
from .fan import arr_fan
from .ltv_cac import ltv_cac_distribution
from .payback import payback_chart
from .stages import stage_timeline
from .table import unit_economics_table
from .thresholds import threshold_heatmap
from .variance import variance_chart

__all__ = [
    "analysis_figures",
    "arr_drivers",
    "arr_fan",
    "cash_chart",
    "cover_page",
    "footnote",
    "frontier_chart",
    "input_label",
    "label",
    "ltv_cac_distribution",
    "money_formatter",
    "palette",
    "payback_chart",
    "plan_comparison",
    "segment_colors",
    "stage_timeline",
    "stress_impact",
    "style",
    "style_path",
    "threshold_heatmap",
    "tornado",
    "unit_economics_table",
    "variance_chart",
]
