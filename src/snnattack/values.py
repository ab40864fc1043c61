"""Value rules: a test of one value and the accepted values as the user reads them.

The config's per-key rules (:mod:`snnattack.config.rules`) and the parameter ranges that each
gradient mode declares (:mod:`snnattack.gradients.base`) are built from these. This module
imports nothing else of the project but its errors, so any module can declare rules.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from snnattack.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """A value's test and the accepted values as the user reads them (``{key}`` = the key).

    ``accepted`` is the text, or a function giving it when a value fails (a registry's names,
    which may grow after the rule is made).
    """

    test: Callable[[Any], bool]
    accepted: str | Callable[[], str]
    problem: str = "is out of range"

    def describe(self) -> str:
        """The accepted values, ``{key}`` not yet filled in."""
        return self.accepted() if callable(self.accepted) else self.accepted

    def complaint(self, key: str, value: Any, where: str = "") -> str | None:
        """The one-line message if ``value`` fails (``where`` follows the problem, e.g.
        ``" for attack=hart"``), else None."""
        if self.test(value):
            return None
        accepted = self.describe().format(key=key)
        return f"{key}={value!r} {self.problem}{where}; accepted: {accepted}"

    def check(self, key: str, value: Any) -> None:
        message = self.complaint(key, value)
        if message is not None:
            raise ConfigError(message)


def is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def integer(lo: int, hi: int | None = None) -> Rule:
    """An integer in ``[lo, hi]``."""
    text = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    return Rule(lambda v: is_int(v) and v >= lo and (hi is None or v <= hi), text)


def real(
    lo: float, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False
) -> Rule:
    """A finite number ``lo <= x`` (``lo < x`` if ``lo_open``) and ``x <= hi`` (``x < hi``
    if ``hi_open``)."""
    low = f"{lo:g} {'<' if lo_open else '<='} {{key}}"
    text = low if hi is None else f"{low} {'<' if hi_open else '<='} {hi:g}"

    def test(v: Any) -> bool:
        if not is_real(v):  # before any comparison: a string or list is refused, not an error
            return False
        above = v > lo if lo_open else v >= lo
        return above and (hi is None or (v < hi if hi_open else v <= hi))

    return Rule(test, text)


def one_of(*names: str) -> Rule:
    """One of the given names."""
    return member_of(names)


def member_of(names: Collection[str]) -> Rule:
    """A name in ``names``, read at each check: a registry's names added later count."""
    return Rule(lambda v: v in names, lambda: ", ".join(names), "is unknown")


def optional(rule: Rule) -> Rule:
    """``null`` or a value the rule accepts."""
    return Rule(
        lambda v: v is None or rule.test(v), lambda: f"null or {rule.describe()}", rule.problem
    )


def either(a: Rule, b: Rule) -> Rule:
    """A value that one of two rules accepts."""
    return Rule(
        lambda v: a.test(v) or b.test(v), lambda: f"{a.describe()}, or {b.describe()}", a.problem
    )


BOOL = Rule(lambda v: isinstance(v, bool), "true or false")
