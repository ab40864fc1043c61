"""Value rules: a test of one value and the accepted values as the user reads them.

The config's per-key rules (:mod:`snnattack.config.rules`) and the parameter ranges that each
gradient mode declares (:mod:`snnattack.gradients.base`) are built from these. This module
imports nothing else of the project but its errors and registries, so any module can declare
rules.

Each kind (an attack method, a kind of training, an analysis, the user's factory) declares the
rules of its own keys beside its code, as it registers itself to be built: a key's rule in
:data:`RULES`, a check of several keys together in :data:`CHECKS`, a note on a setting that
does less than it says in :data:`NOTES` (or :data:`WRITTEN_NOTES`, where the note depends on
whether the key was set, not only on its value), which :func:`snnattack.config.validation.validate`
runs (it imports no kind's module: its docstring).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import numbers
import re
import reprlib
import struct
import sys
import types
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from snnattack.errors import ConfigError, UserError
from snnattack.registry import Registry


@dataclass(frozen=True)
class Rule:
    """A value's test and the accepted values as the user reads them (``{key}`` = the key).

    ``accepted`` is the text, or a function giving it when a value fails (a registry's names,
    which may grow after the rule is made). A value is shown as ``spell`` writes it: as the
    command line's YAML spells it (:func:`as_typed`, the default), or, for the Python API's
    arguments, as Python does (``repr``).
    """

    test: Callable[[Any], bool]
    accepted: str | Callable[[], str]
    # what is wrong with a value of the right type that the test refuses, or, given the value
    # and the spelling of values (a list's problem names the value it holds), what is wrong
    # with it (a function of the value alone is called so)
    problem: str | Callable[[Any, Callable[[Any], str]], str] | Callable[[Any], str] = (
        "is out of range"
    )
    # the one spelling of an accepted number, by which settings are hashed (a real key's
    # ``float``: ``lambda=1`` is ``lambda=1.0``, one store key), or None: kept as given
    spelling: Callable[[Any], Any] | None = None
    # the type of the accepted values (an integer's: is_int), named by ``kind`` ("an
    # integer"): a value of another type "is not an integer", never "out of range"
    form: Callable[[Any], bool] | None = None
    kind: str = ""

    def describe(self) -> str:
        """The accepted values, ``{key}`` not yet filled in."""
        return self.accepted() if callable(self.accepted) else self.accepted

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is of the accepted values' type (any value where none is said)."""
        return self.form is None or self.form(value)

    def problem_of(self, value: Any, spell: Callable[[Any], str] | None = None) -> str:
        """What is wrong with ``value``, a value the test refuses (values it names spelt by
        ``spell``; None: :func:`as_typed`)."""
        if not self.fits(value):
            return f"is not {self.kind}"
        if not callable(self.problem):
            return self.problem
        if len(inspect.signature(self.problem).parameters) < 2:  # a rule of yours: (value)
            return self.problem(value)  # type: ignore[call-arg]
        return self.problem(value, spell or as_typed)

    def complaint(
        self, key: str, value: Any, where: str = "", spell: Callable[[Any], str] | None = None
    ) -> str | None:
        """The one-line message if ``value`` fails (``where`` follows the problem, e.g.
        ``" for attack=hart"``), else None; ``value`` spelt by ``spell`` (None: as_typed)."""
        if self.test(value):
            return None
        spell = spell or as_typed
        accepted = self.describe().format(key=key)
        if spell is as_python:  # a Python argument's: its accepted values in Python's words
            accepted = in_python_words(accepted)
        problem = self.typed_problem(value, spell)
        return f"{key}={spell(value)} {problem}{where}; accepted: {accepted}"

    def typed_problem(self, value: Any, spell: Callable[[Any], str]) -> str:
        """:meth:`problem_of` a value as typed: null sets no value, and a text that the test
        accepts as a number (``${oc.env:NAME}``: docs/errors.md; a quoted override) is text."""
        if value is None:
            return "sets no value"
        if isinstance(value, str) and self.test(_number(value)):
            if re.fullmatch(r"[+-]?0\d+", value):  # Hydra's grammar: 04 is no integer
                return f"is text, not a number (a leading 0 makes it text: write {int(value)})"
            return "is text, not a number"
        return self.problem_of(value, spell)

    def check(self, key: str, value: Any) -> None:
        message = self.complaint(key, value)
        if message is not None:
            raise ConfigError(message)


class Bare(list):
    """A bare value read as a list of one (``eps=8`` as ``[8]``, by
    :func:`snnattack.config.plain_rules.listed`), which a message spells as the user typed it:
    ``eps=inf is not a finite number``, not ``eps=[inf] holds inf``."""


def as_typed(value: Any) -> str:
    """``value`` as the command line's YAML spells it, so that a message shows what the user
    typed: ``null``, ``true`` and ``false`` (not Python's ``None``, ``True``, ``False``), in
    lists and dicts too, a dict's keys bare (``{start: 0.1, step: null}``, as typed); text
    quoted (``'abc'``, ``'8'``: a text, not the number or switch it may read as) and numbers
    (``inf``, ``nan``, ``1e-05``) as Python writes them."""
    if value is None:
        return "null"
    if isinstance(value, Bare):
        return as_typed(value[0])
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):  # a plain dict or an unresolved DictConfig
        items = (f"{_key(k)}: {as_typed(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "[" + ", ".join(map(as_typed, value)) + "]"
    return as_python(value)


LONG_INT = 30  # the digits of an integer spelt whole; a longer one is shortened


# YAML's words for no value and the switches, as Python spells them
_PYTHON_WORDS = {"null": "None", "true": "True", "false": "False"}


def in_python_words(text: str) -> str:
    """``text``, a refusal or its accepted values in YAML's words (``null or 0 < alpha <=
    255``, ``true or false``), in Python's (``None or ...``, ``True or False``): a Python
    API's; a quoted text (``'null'``) stays as it is."""
    return re.sub(r"(?<![\w'])(null|true|false)(?![\w'])", lambda m: _PYTHON_WORDS[m[1]], text)


def as_python(value: Any) -> str:
    """``value`` as Python writes it (``repr``: a Python API's argument), an integer of more
    than :data:`LONG_INT` digits shortened as :func:`as_typed` shortens it, alone or written
    in text (``overrides=['T=1111111111... (400 digits)']``, not the 400 digits)."""
    if is_int(value) and abs(value) > 10**LONG_INT:
        return _long_int(value)
    return re.sub(rf"\d{{{LONG_INT + 1},}}", lambda digits: _long_int(digits[0]), repr(value))


def _long_int(value: int | str) -> str:
    """An integer of more than :data:`LONG_INT` digits (or its digits' text) shortened
    (``1000000000... (401 digits)``): one readable line, and no ``ValueError`` of ``str``
    past Python's limit of 4300 digits."""
    try:
        text = value if isinstance(value, str) else str(abs(value))
    except ValueError:  # past sys.get_int_max_str_digits()
        return f"<an integer of more than {sys.get_int_max_str_digits()} digits>"
    return f"{'-' if is_int(value) and value < 0 else ''}{text[:10]}... ({len(text)} digits)"


def _key(key: Any) -> str:
    """A dict's key as YAML spells it: a name bare (``start``), another key as a value."""
    return key if isinstance(key, str) and key.isidentifier() else as_typed(key)


def _number(text: str) -> int | float | str:
    """``text`` as the number it spells (``'3'``: 3, ``'0.5'``: 0.5), else itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """Whether ``value`` is a finite number that a float holds, not a switch: an integer of 400
    digits is none (``math.isfinite`` raised ``OverflowError`` on it, a traceback)."""
    return is_number(value) and finite(value) and abs(value) <= sys.float_info.max


def finite(value: Any) -> bool:
    """Whether the number ``value`` is finite (an integer, however large, is)."""
    return isinstance(value, numbers.Integral) or math.isfinite(value)


def beyond_float(value: Any) -> bool:
    """Whether ``value`` is an integer larger than any float (``10**400``)."""
    return is_int(value) and abs(value) > sys.float_info.max


# a finite number's problem where it is an integer no float holds
BEYOND_FLOAT = f"is out of range (beyond ±{sys.float_info.max:.3g}, the largest float)"
# the largest float32: the tensors a number enters (a threshold, a learning rate) hold no
# larger one, which became inf there (theta=1e39: a model that never fires, attacked)
FLOAT32_MAX = (2 - 2**-23) * 2.0**127
BEYOND_FLOAT32 = (
    f"is out of range (beyond ±{FLOAT32_MAX:.3g}, the largest float32, as tensors hold it)"
)


def as_float32(value: float) -> float:
    """``value`` rounded to the float32 a tensor holds of it (``1e-46``: ``0.0``); one of
    magnitude at most :data:`FLOAT32_MAX`."""
    return struct.unpack("f", struct.pack("f", value))[0]


def is_number(value: object) -> bool:
    """Whether ``value`` is a number (infinite ones too), not a switch."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# the largest integer a job takes (2**63 - 1): torch, numpy and Lightning hold counts in 64
# bits, and a larger one overflowed where a float was made of it (``T=`` with 400 digits: an
# ``OverflowError`` of the memory check, a traceback)
MAX_INT = 2**63 - 1
# an integer's problem where it is above MAX_INT
ABOVE_MAX_INT = "is out of range (above 2**63 - 1, the largest integer a job takes)"
# the most torch threads: no machine has more cores (the largest have a few thousand), and
# torch starts them all at the first operation, slower the more there are (on 2 cores 1000
# threads took 13 s, 2000 took 92 s, 100000 hung past SIGTERM)
MAX_THREADS = 4096
BEYOND_MAX_INT = "is out of range (beyond ±(2**63 - 1), the largest integer a job takes)"


def integer(lo: int, hi: int | None = None) -> Rule:
    """An integer in ``[lo, hi]``; with no ``hi``, one >= ``lo`` and at most :data:`MAX_INT`,
    which a larger value's message names with its reason."""

    def problem(v: Any, spell: Callable[[Any], str]) -> str:
        return ABOVE_MAX_INT if hi is None and v > MAX_INT else "is out of range"

    text = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    return Rule(
        lambda v: is_int(v) and v >= lo and v <= (MAX_INT if hi is None else hi),
        text,
        problem,
        form=is_int,
        kind="an integer",
    )


def real(
    lo: float,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    spelling: Callable[[Any], Any] = float,
) -> Rule:
    """A finite number ``lo <= x`` (``lo < x`` if ``lo_open``) and ``x <= hi`` (``x < hi``
    if ``hi_open``), spelt as ``spelling`` gives it (a float). With no ``hi`` the accepted
    values say "a finite number > lo": ``inf`` is refused as not finite, which ``lo < key``
    alone would not say, and one beyond :data:`FLOAT32_MAX` by that bound; ``inf`` and
    ``nan`` are "not a finite number" either way."""
    if hi is None:
        text = f"a finite number {'>' if lo_open else '>='} {lo:g}"
    else:
        text = f"{lo:g} {'<' if lo_open else '<='} {{key}} {'<' if hi_open else '<='} {hi:g}"

    def within(v: Any) -> bool:
        above = v > lo if lo_open else v >= lo
        if hi is None:  # bounded by what a float32 tensor holds
            return above and abs(v) <= FLOAT32_MAX
        return above and (v < hi if hi_open else v <= hi)

    def test(v: Any) -> bool:
        # before any comparison: a string or list is refused, not an error; then the value as
        # a float32 tensor holds it too (theta=1e-46 passed "> 0" and ran as a threshold of 0)
        return is_real(v) and within(v) and within(as_float32(v))

    def problem(v: Any, spell: Callable[[Any], str]) -> str:
        if hi is None and beyond_float(v):  # "> lo" holds of it, but no float
            return BEYOND_FLOAT
        if hi is None and finite(v) and abs(v) > FLOAT32_MAX:
            return BEYOND_FLOAT32
        if finite(v) and within(v):  # what the rule refuses is its float32
            return f"is out of range (rounds to {as_float32(v):g} in float32, as tensors hold it)"
        return "is out of range" if finite(v) else "is not a finite number"

    return Rule(test, text, problem, spelling=spelling, form=is_number, kind="a number")


def whole_if_integral(value: float) -> int | float:
    """A number spelt as an integer where it is one (``16.0``: ``16``): the spelling of the
    radii in 1/255 units, whose defaults are integers (``train.adversary.eps: 16``)."""
    return int(value) if float(value).is_integer() else float(value)


def one_of(*names: str) -> Rule:
    """One of the given names."""
    return member_of(names)


def member_of(names: Collection[str]) -> Rule:
    """A name in ``names``, read at each check: a registry's names added later count (a list
    or a dict given is no name, and no error of a dict's lookup); a name refused is said with
    the one it is most like (:func:`near`: ``reset='sofft' is unknown (did you mean soft?)``)."""
    return Rule(
        lambda v: isinstance(v, str) and v in names,
        lambda: ", ".join(names),
        lambda v: f"is unknown{near(v, names)}",
        form=lambda v: isinstance(v, str),
        kind="a name",
    )


def list_rule(item: Rule, accepted: str, *, empty: bool = False) -> Rule:
    """A list of distinct values that ``item`` accepts (``16`` and ``16.0`` one; ``empty``:
    none at all too), whose complaint names what is wrong: no list, no value, a value
    repeated, or the first value refused (``eps=[8,a]`` holds 'a', which is not a number)."""

    def problem(value: list, spell: Callable[[Any], str]) -> str:
        if isinstance(value, Bare):  # eps=inf: what is wrong with the one value typed
            return item.typed_problem(value[0], spell)
        if not value:
            return "is empty"
        for x in (x for x in value if not item.test(x)):
            if isinstance(x, str) and item.test(_number(x)):  # eps='8', an environment's
                return f"holds {spell(x)}, which is text, not a number"
            return f"holds {spell(x)}, which {item.problem_of(x, spell)}"
        return "repeats a value"

    return Rule(
        lambda v: (
            isinstance(v, list)
            and (empty or bool(v))
            and all(map(item.test, v))
            and len(set(v)) == len(v)
        ),
        accepted,
        problem,
        form=lambda v: isinstance(v, list),
        kind="a list",
    )


def optional(rule: Rule) -> Rule:
    """``null`` or a value the rule accepts."""
    return Rule(
        lambda v: v is None or rule.test(v),
        lambda: f"null or {rule.describe()}",
        rule.problem,
        rule.spelling,
        None if rule.form is None else lambda v: v is None or rule.fits(v),
        rule.kind,
    )


def either(a: Rule, b: Rule) -> Rule:
    """A value that one of two rules accepts; what is wrong with another is said by the rule
    whose type it has (``threads=0`` is out of range, ``threads=many`` unknown)."""

    def problem(value: Any, spell: Callable[[Any], str]) -> str:
        if b.fits(value) and not a.fits(value):
            return b.problem_of(value, spell)
        return a.problem_of(value, spell)

    return Rule(  # an integer of an integer-or-real rule stays one (a count, not a share)
        lambda v: a.test(v) or b.test(v),
        lambda: f"{a.describe()}, or {b.describe()}",
        problem,
        a.spelling if a.spelling is b.spelling else None,
        None if a.form is None or b.form is None else lambda v: a.fits(v) or b.fits(v),
        f"{a.kind} or {b.kind}",
    )


BOOL = Rule(lambda v: isinstance(v, bool), "true or false", "is not true or false")


Check = Callable[[dict[str, Any]], None]  # a check of a resolved config: ConfigError or None
Note = Callable[[dict[str, Any]], list[str]]  # a resolved config's notes, one line each
# a note that reads the config as written too (its interpolations kept, each a ``${...}``
# string) beside the resolved one: whether a key was set, or follows another's value
WrittenNote = Callable[[dict[str, Any], dict[str, Any]], list[str]]

# every key's rule by dotted key (``*``: any one level), declared where the key is read; the
# config's own keys first (order 0), then the kinds' (order 1) in the order they are imported
RULES: Registry[Rule] = Registry()
# checks of several keys at once, each at its ``order`` (the first that fails is reported)
CHECKS: Registry[Check] = Registry()
# the order below which the checks are of which keys a kind takes (a method's parameters),
# made before the per-key rules: a key one method takes and another does not is unknown to
# the other, whatever its value, not refused by the first's range
KEYS = 0.0
# the order from which the checks are of the machine a job runs on and its files (devices,
# cores, memory, model files: config/preflight.py, training/memory.py), not of the keys
MACHINE = 18.0
# notes on settings accepted that do less than they say, each kind its own
NOTES: Registry[Note] = Registry()
# notes whose condition the resolved values cannot tell: trainer.max_epochs=30 set on the
# command line and the default ${train.epochs} that reads 30 resolve alike, but a hybrid's
# fine-tuning follows only the second (training/checks.py); they come before NOTES'
WRITTEN_NOTES: Registry[WrittenNote] = Registry()
# by kind of training (train.kind), the threshold its spiking layers fire at, of the
# configured theta and the resolved train node (a hybrid model's is scaled; None: it has
# none, an ANN): the checks of a gradient mode's parameters read it; a kind not in it fires
# at theta
NEURON_THETA: Registry[Callable[[float, dict[str, Any]], float | None]] = Registry()
KIND = 1.0  # the order of a kind's rule: after the config's own
# an annotation of several types: Optional[int], int | None
UNIONS = (typing.Union, types.UnionType)


def declare(rules: dict[str, Rule], order: float = KIND) -> None:
    """Adds the rules of ``rules`` (dotted key: rule) to :data:`RULES`; a key declared twice is
    a ``ValueError``."""
    for key, rule in rules.items():
        RULES.enter(key, rule, order)


@cache
def matches(key: str, pattern: str) -> bool:
    """Whether a dotted ``key`` matches ``pattern``, whose ``*`` stands for one level (kept:
    every validation asks it for each key against each rule)."""
    parts, wanted = key.split("."), pattern.split(".")
    if len(parts) != len(wanted):
        return False
    return all(w in ("*", p) for p, w in zip(parts, wanted, strict=True))


def check_as(key: str, value: Any, shown: str) -> None:
    """Checks ``value`` by the rules of ``key`` (e.g. ``method.apgd.steps``), naming it
    ``shown`` (an ensemble component's ``method.ensemble.components.apgd/stbp.params.steps``)."""
    for pattern, rule in RULES.items():
        if matches(key, pattern):
            rule.check(shown, value)


# attack-method arguments that a job sets from another key, never from method.<name>.*
SET_ELSEWHERE = {
    "eot_samples": "attack.eot_samples",
    "recordings": "the evaluation: the test batch's recordings",
    "fitted": "the fitting of a universal attack on validation data",
}


def accepted_params(func: Callable, skip: int) -> list[str]:
    """The parameters of ``func`` after its first ``skip``; a class whose ``__init__`` passes
    ``**kwargs`` on to its base class's also takes the base's."""
    try:
        return list(_kept_params(func, skip))
    except TypeError:  # an unhashable callable object (its class defines __eq__): read afresh
        return list(_params(func, skip))


@functools.cache  # a signature is read once: a repeated attack checks its gradient mode per call
def _kept_params(func: Callable, skip: int) -> tuple[str, ...]:
    """:func:`_params`, kept per function."""
    return _params(func, skip)


def _params(func: Callable, skip: int) -> tuple[str, ...]:
    """:func:`accepted_params` as a tuple."""
    params = inspect.signature(func).parameters
    named = [n for n, p in params.items() if p.kind is not p.VAR_KEYWORD][skip:]
    passes_on = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if passes_on and isinstance(func, type):
        base = next(b for b in func.__mro__[1:] if "__init__" in vars(b))
        named += [n for n in _params(base, skip) if n not in named]
    return tuple(named)


def near(name: str, names: Collection[str]) -> str:
    """`` (did you mean X?)`` for the one of ``names`` most like ``name`` ("" for none): the
    one it spells in other case first (``t``: ``T``), which a ratio of letters misses."""
    found = [n for n in names if n.casefold() == name.casefold()]
    found = found or difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {found[0]}?)" if found else ""


def keywords_checked(func: Callable) -> Callable:
    """``func``, whose keyword that is none of its parameters (misspelt: ``reportd=``), or a
    required argument left out (``adapt(net)``, no ``T``), is one UserError line naming it
    and those accepted, where Python's TypeError named no alternative."""
    kinds = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    parameters = inspect.signature(func).parameters
    names = [n for n, p in parameters.items() if p.kind not in kinds]
    required = [n for n in names if parameters[n].default is inspect.Parameter.empty]
    keyword_only = inspect.Parameter.KEYWORD_ONLY
    call = ", ".join(f"{n}=..." if parameters[n].kind == keyword_only else n for n in required)

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for key, value in kwargs.items():
            if key not in names:
                raise UserError(
                    f"{key}={reprlib.repr(value)} is not an argument of {func.__name__}()"
                    f"{near(key, names)}; accepted: {', '.join(names)}"
                )
        given = {*names[: len(args)], *kwargs}
        if missing := [n for n in required if n not in given]:
            raise UserError(
                f"{func.__name__}() is missing the argument {missing[0]}; accepted: "
                f"{func.__name__}({call}), the other arguments as you need them"
            )
        return func(*args, **kwargs)

    return checked


def settable_params(func: Callable, skip: int) -> list[str]:
    """The parameters of ``func`` after its first ``skip`` that a config may set: not those
    a job sets from another key (:data:`SET_ELSEWHERE`)."""
    return [p for p in accepted_params(func, skip) if p not in SET_ELSEWHERE]


def params_known(
    group: str,
    params: dict[str, Any],
    func: Callable,
    skip: int,
    typed: bool = True,
    ruled_as: str | None = None,
) -> None:
    """Every name of ``params`` (set as ``<group>.<name>``) is a parameter that ``func`` takes
    after its first ``skip``, and not one a job sets from another key; with ``typed`` (not for
    a gradient mode, whose every parameter has its declared range), a value that no rule
    declared for its key (as ``<ruled_as>.<name>``: an ensemble component's by its method's
    key; None: ``group``) checks is of the type its parameter's annotation names
    (:func:`annotated`), before any work rather than where the code reads it."""
    accepted = settable_params(func, skip)
    for name, value in params.items():
        if name not in accepted:
            elsewhere = f" (set by {SET_ELSEWHERE[name]})" if name in SET_ELSEWHERE else ""
            elsewhere = elsewhere or near(name, accepted)
            raise ConfigError(
                f"{group}.{name}={as_typed(value)} is unknown{elsewhere}; accepted: "
                f"{', '.join(accepted) or 'no parameters'}"
            )
        ruled = not typed or any(matches(f"{ruled_as or group}.{name}", p) for p in RULES)
        rule = None if ruled else annotated(func, name)
        if rule is not None:
            rule.check(f"{group}.{name}", value)


# the rules of the plain types a parameter's annotation may name
TYPED = {
    int: Rule(
        lambda v: is_int(v) and abs(v) <= MAX_INT,
        "an integer",
        lambda v: BEYOND_MAX_INT if is_int(v) else "is not an integer",
    ),
    float: Rule(  # inf too, but no integer that a float cannot hold (float(v): OverflowError)
        lambda v: is_number(v) and not beyond_float(v),
        "a number",
        lambda v: BEYOND_FLOAT if beyond_float(v) else "is not a number",
    ),
    bool: BOOL,
    str: Rule(
        lambda v: isinstance(v, str),
        "a text (one that reads as a number or a switch quoted: {key}=\"'2024'\")",
        "is not a text",
    ),
}


def annotated(func: Callable, name: str) -> Rule | None:
    """The rule of the annotation of ``func``'s parameter ``name`` (a class's: its
    ``__init__``'s) where it names plain types (``int``, ``float``, ``bool``, ``str``, a
    ``Literal`` of names, or ``None`` beside one of them); None for any other annotation, or
    none."""
    target = func.__init__ if isinstance(func, type) else func
    parameter = inspect.signature(target).parameters.get(name)
    hint = inspect.Parameter.empty if parameter is None else parameter.annotation
    if isinstance(hint, str):  # postponed (from __future__ import annotations): its own only
        try:
            hint = eval(hint, getattr(target, "__globals__", {}))  # noqa: S307
        except Exception:  # a name the module does not hold at run time
            return None
    literal = typing.get_args(hint) if typing.get_origin(hint) is typing.Literal else None
    if literal:
        return one_of(*literal) if all(isinstance(v, str) for v in literal) else None
    options = set(typing.get_args(hint)) if typing.get_origin(hint) in UNIONS else {hint}
    nullable = type(None) in options
    options.discard(type(None))
    if options == {int, float}:
        options = {float}
    rule = TYPED.get(next(iter(options))) if len(options) == 1 else None
    return optional(rule) if nullable and rule is not None else rule
