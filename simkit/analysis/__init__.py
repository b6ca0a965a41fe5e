"""Analyses built on the pipeline: stress tests, plan comparison, sensitivity."""

from .compare import compare
from .sensitivity import sensitivity
from .stress import frontier, reverse_stress, stress

__all__ = ["compare", "frontier", "reverse_stress", "sensitivity", "stress"]
