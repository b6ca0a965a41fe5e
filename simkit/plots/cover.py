"""Cover page of the board pack: scenario name, description and headline numbers in words."""

from __future__ import annotations

from . import _style as st

__all__ = ["cover_page"]


def cover_page(attrs, headlines, *, title: str | None = None):
    """A 16:9 cover: the scenario's name and description, then the headline sentences.

    Parameters
    ----------
    attrs : mapping
        The results' attributes (``scenario_name``, ``scenario_description``, ``draws``,
        ``seed_entropy``, ``simkit_version``, ...).
    headlines : sequence of str
        Three to five sentences, already written (see
        :func:`simkit.report.headlines`).
    title : str, optional
        Default the scenario name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Rectangle

    name = title or str(attrs.get("scenario_name") or "simkit scenario")
    description = str(attrs.get("scenario_description") or "")
    with st.style():
        fig = st.new_figure(layout=None)
        fig.patches.append(Rectangle((0, 0.86), 1, 0.14, transform=fig.transFigure,
                                         facecolor=st.COMPANY_COLOR, zorder=0))
        fig.text(0.05, 0.93, "Board pack · Monte Carlo outlook", fontsize=16, color="white", va="center")
        y = 0.77
        shown_name = st.label(name) if " " not in name else name
        for line in st.wrap(shown_name, 34, 12.0, bold=True)[:2]:
            fig.text(0.05, y, line, fontsize=34, fontweight="bold", color=st.TEXT_COLOR, va="center")
            y -= 0.075
        for line in st.wrap(description, 16, 12.0)[:3]:
            fig.text(0.05, y, line, fontsize=16, color=st.MUTED_COLOR, va="center")
            y -= 0.045
        y -= 0.04
        fig.text(0.05, y, f"What {st.plural_futures(attrs)} say", fontsize=15, fontweight="bold",
                 color="#444444", va="center")
        height_in = fig.get_size_inches()[1]
        sentences = list(headlines)[:5]
        # The largest type (at most 21 pt) at which every headline fits above the footnote.
        for size in (21, 20, 19, 18, 17, 16, 15, 14):
            wrapped = [st.wrap(sentence, size, 11.4) for sentence in sentences]
            step = size * 1.4 / 72 / height_in
            gap = 0.35 * step
            needed = step * sum(len(w) for w in wrapped) + gap * len(wrapped)
            if y - 0.04 - needed >= 0.07:
                break
        y -= 0.04 + step / 2
        for lines in wrapped:
            fig.text(0.05, y, "■", fontsize=size * 0.65, color=st.palette()[0], va="center")
            for line in lines:
                fig.text(0.08, y, line, fontsize=size, color=st.TEXT_COLOR, va="center", gid="headline")
                y -= step
            y -= gap
        fig.text(0.05, 0.03, st.footnote(attrs), fontsize=st.FOOTNOTE_SIZE, color="#888888", va="bottom")
        fig.text(0.05, 0.055, "Probabilities are shares of simulated futures, not forecasts of one future.",
                 fontsize=st.FOOTNOTE_SIZE, color="#888888", va="bottom", fontstyle="italic")
        return fig
