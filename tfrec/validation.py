"""Argument checks shared by every layer and model: each returns the clean value or raises a
``ValueError`` that names the argument and what was expected (Keras' convention for bad
constructor arguments)."""

from __future__ import annotations

import numbers


def check_positive_int(name: str, value) -> int:
    """``value`` as an ``int`` if it is a positive integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}")
    return int(value)


def check_non_negative(name: str, value) -> float:
    """``value`` as a ``float`` if it is a real number >= 0 (not a bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"`{name}` must be a non-negative number; got {value!r}")
    return float(value)


def check_units(name: str, units, allow_empty: bool = False) -> tuple[int, ...]:
    """A list of positive layer widths as a tuple of ``int``."""
    try:
        units = tuple(units)
    except TypeError:
        raise ValueError(f"`{name}` must be a list of positive integers; got {units!r}") from None
    if (not units and not allow_empty) or any(isinstance(u, bool) or not isinstance(u, numbers.Integral) or u <= 0 for u in units):
        raise ValueError(f"`{name}` must be a {'' if allow_empty else 'non-empty '}list of positive integers; got {list(units)!r}")
    return tuple(int(u) for u in units)
