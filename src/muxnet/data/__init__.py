"""Datasets that ship with the project's dependencies (no downloads)."""

from .digits import DigitsSplits, load_digits

__all__ = ["DigitsSplits", "load_digits"]
