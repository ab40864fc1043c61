"""A parameter's value that no declared rule checks is checked against the type its
parameter's annotation names, before any work: a new method's ``scale: float`` given
``scale=abc`` was refused only where the method multiplied by it, after both models trained,
in a line that named neither the key nor the accepted values."""

from __future__ import annotations

from typing import Literal

import pytest

from snnattack.errors import ConfigError
from snnattack.values import accepted_params, annotated, params_known


def noise(
    model: object,
    eps: float,
    scale: float = 1.0,
    repeats: int = 1,
    signed: bool = True,
    aim: int | None = None,
    ball: Literal["linf", "l2"] = "linf",
    shape: tuple[int, int] = (1, 1),
    label: str = "",
) -> None:
    """A method as a researcher writes one (postponed annotations: strings until read)."""


@pytest.mark.parametrize(
    "name,value,line",
    [
        ("scale", "abc", "method.noise.scale='abc' is not a number; accepted: a number"),
        ("scale", "3", "method.noise.scale='3' is text, not a number; accepted: a number"),
        ("repeats", 2.5, "method.noise.repeats=2.5 is not an integer; accepted: an integer"),
        ("signed", 1, "method.noise.signed=1 is not true or false; accepted: true or false"),
        ("aim", "x", "method.noise.aim='x' is not an integer; accepted: null or an integer"),
        (
            "label",
            2024,
            "method.noise.label=2024 is not a text; accepted: a text (one that reads as a number "
            "or a switch quoted: method.noise.label=\"'2024'\")",
        ),
        ("ball", "l1", "method.noise.ball='l1' is unknown; accepted: linf, l2"),
    ],
)
def test_a_value_of_another_type_than_its_annotation_is_refused(name, value, line) -> None:
    with pytest.raises(ConfigError) as refused:
        params_known("method.noise", {name: value}, noise, skip=2)
    assert str(refused.value) == line


def test_values_of_their_annotations_type_and_unchecked_annotations_pass() -> None:
    params_known(
        "method.noise",
        {
            "scale": float("inf"),
            "repeats": 3,
            "signed": False,
            "aim": None,
            "ball": "l2",
            "shape": 1,
        },
        noise,
        skip=2,
    )
    assert annotated(noise, "shape") is None  # not a plain type: the method's to check
    assert annotated(noise, "absent") is None


def test_a_declared_rule_is_the_one_that_checks_its_key() -> None:
    """``method.*.steps`` is declared (an integer >= 1, checked with every key's rule): the
    annotation of a parameter of that name adds nothing."""
    import snnattack.job  # noqa: F401  (declares every kind's rules)

    def stepped(model: object, eps: float, steps: str = "") -> None:
        """A parameter annotated otherwise than its name's rule."""

    params_known("method.stepped", {"steps": 3}, stepped, skip=2)


class Maker:
    """A method's maker as a callable object whose class compares by value (``__eq__``
    without ``__hash__``): unhashable, so its parameters are read afresh, not kept."""

    def __init__(self, gain: float) -> None:
        self.gain = gain

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Maker) and other.gain == self.gain

    def __call__(self, model: object, eps: float, scale: float = 1.0, **rest: object) -> None:
        """Its parameters after the model and radius: ``scale``."""


def test_the_parameters_of_an_unhashable_callable_object_are_read() -> None:
    """The parameters read from a signature are kept per function (a repeated attack checks
    its gradient mode at each call); a callable object that cannot key them is read afresh."""
    maker = Maker(1.0)
    with pytest.raises(TypeError):
        hash(maker)
    assert accepted_params(maker, skip=2) == ["scale"]
    assert accepted_params(noise, skip=2)[:2] == ["scale", "repeats"]
    assert accepted_params(noise, skip=2) is not accepted_params(noise, skip=2)  # the caller's
