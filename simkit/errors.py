"""Errors that simkit reports to people, not programmers.

Every problem found in a scenario is a :class:`Problem` naming the file, the dotted path
of the field (``segments.smb.annual_churn.mean``), the value found and what was expected.
A :class:`ScenarioError` carries all the problems of a file at once, so an analyst fixes
them in one pass instead of one per run.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "SimkitError"]


class SimkitError(Exception):
    """Base class of the errors simkit raises on purpose (bad input, unusable output folder)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of a scenario."""

    path: str
    message: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        field = self.path if self.path else "(top level)"
        return f"{where}{field}: {self.message}"


class ScenarioError(SimkitError, ValueError):
    """A scenario file (or dict) that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem], file: str | None = None):
        self.file = file
        self.problems = [
            p if p.file or file is None else Problem(p.path, p.message, file) for p in problems
        ]
        super().__init__(self._text())

    def _text(self) -> str:
        head = f"{self.file}: " if self.file else ""
        count = len(self.problems)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} found"]
        lines += [f"  - {p.path or '(top level)'}: {p.message}" for p in self.problems]
        return "\n".join(lines)
