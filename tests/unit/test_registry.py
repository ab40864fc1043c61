"""A new gradient mode or kind of training is its own module (and a config file): no central
list names it. The gradient modes and the kinds register themselves (``@register``), and the
validation, ``gradient_mode``, the tuning and the report read the registries."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from harness import ROOT, compose

from snnattack.attacks.spec import tunable
from snnattack.config import validate
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, gradient_mode, register
from snnattack.gradients.base import neuron_settings
from snnattack.models import build
from snnattack.report.tables import mode_name
from snnattack.snn.surrogates import Triangle
from snnattack.training import STRATEGIES, Strategy
from snnattack.training import register as register_kind
from snnattack.values import real

SRC = ROOT / "src" / "snnattack"
# ``stbp`` is the default gradient mode and the default kind of training, and the reference the
# report and the cost analysis compare other modes with, so other modules name it; a new mode
# or kind is neither. A central list would name every other mode and kind too.
DEFAULT = "stbp"
# (name, module) pairs where another module names a mode or kind, and why
EXCEPTIONS = {
    ("ann", "training/conversion.py"): "a conversion starts from a trained ANN (its base kind)",
    ("conversion", "training/hybrid.py"): "hybrid training starts from a converted SNN",
    ("conversion", "config/combinations.py"): "the train.conversion block's name",
}


def _home(module: str) -> str:
    return Path(sys.modules[module].__file__).relative_to(SRC).as_posix()


def _homes() -> dict[str, set[str]]:
    """Every registered name and the modules that register it."""
    homes: dict[str, set[str]] = {}
    for name, mode in GRADIENT_MODES.items():
        homes.setdefault(name, set()).add(_home(mode.make.__module__))
    for name, strategy in STRATEGIES.items():
        homes.setdefault(name, set()).add(_home(type(strategy).__module__))
    return homes


def _string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_module_but_its_own_names_a_gradient_mode_or_training_kind() -> None:
    homes = _homes()
    assert {"pdsg", "assg", "hybrid"} <= set(homes)  # the registries were filled
    strings = {p.relative_to(SRC).as_posix(): _string_constants(p) for p in SRC.rglob("*.py")}
    found = {
        (name, module)
        for name, own in homes.items()
        if name != DEFAULT
        for module, constants in strings.items()
        if name in constants and module not in own
    }
    assert found == set(EXCEPTIONS)


@pytest.fixture
def toy_mode() -> Iterator[str]:
    """A new gradient mode, registered as a module of ``gradients/`` would register it."""

    @register("toy", title="Toy", order=65, gamma=real(0, 1, lo_open=True))
    def toy(model: torch.nn.Module, gamma: float = 0.5):
        return neuron_settings(model, surrogate=lambda _: Triangle(gamma))

    yield "toy"
    del GRADIENT_MODES["toy"]


def test_a_registered_gradient_mode_is_accepted_by_attack_and_its_ranges_enforced(
    toy_mode: str, tmp_path: Path
) -> None:
    # its config file, beside conf/attack/ (a known parameter name: conf/ is the key schema)
    (tmp_path / "attack").mkdir()
    (tmp_path / "attack" / "toy.yaml").write_text("grad_mode: toy\nparams:\n  gamma: 0.5\n")
    search = f"hydra.searchpath=[file://{tmp_path}]"
    validate(compose(search, "attack=toy"))
    with pytest.raises(ConfigError) as err:
        validate(compose(search, "attack=toy", "attack.params.gamma=1.5"))
    assert str(err.value) == (
        "attack.params.gamma=1.5 is out of range for attack=toy; accepted: "
        "0 < attack.params.gamma <= 1"
    )
    with pytest.raises(ConfigError, match=r"^attack.params.beta=2 is unknown; accepted: gamma"):
        validate(compose(search, "attack=toy", "+attack.params.beta=2"))
    with pytest.raises(ConfigError, match=r"for train.adversary.grad_mode=toy; accepted: 0 <"):
        validate(compose("train.adversary.grad_mode=toy", "+train.adversary.params.gamma=0"))
    with pytest.raises(ConfigError, match=r"^attack.grad_mode='nope' is unknown; accepted: .*toy"):
        validate(compose("attack.grad_mode=nope"))

    net = build("digits_net", num_classes=10, in_channels=1, T=2).eval()
    with pytest.raises(ValueError, match=r"^gamma=2 is out of range for gradient mode toy"):
        with gradient_mode(net, "toy", gamma=2):
            pass
    x, weights = torch.rand(4, 1, 8, 8), torch.randn(4, 10)

    def input_grad(mode: str, **params: float) -> torch.Tensor:
        xr = x.clone().requires_grad_(True)
        with gradient_mode(net, mode, **params):
            (net(xr) * weights).sum().backward()
        return xr.grad

    toy = input_grad("toy", gamma=1.0)  # its backward: STBP with the triangle of width gamma
    assert toy.abs().sum() > 0 and torch.equal(toy, input_grad("stbp", width=1.0))
    assert list(GRADIENT_MODES)[-3:] == ["pdsg", "toy", "assg"]  # by its declared order
    assert mode_name("toy") == "Toy" and tunable("toy")


def test_a_gradient_mode_declares_the_range_of_each_parameter_and_a_new_name() -> None:
    with pytest.raises(TypeError, match=r"takes \['gamma'\] but declares ranges of \[\]"):

        @register("unchecked", title="Unchecked", order=99)
        def unchecked(model: torch.nn.Module, gamma: float = 1.0):
            return neuron_settings(model)

    assert "unchecked" not in GRADIENT_MODES
    stbp = GRADIENT_MODES["stbp"]
    with pytest.raises(ValueError, match="^'stbp' is registered twice"):
        register("stbp", title="Again", order=1)(lambda model: neuron_settings(model))
    assert GRADIENT_MODES["stbp"] is stbp


@pytest.fixture
def toy_kind() -> Iterator[str]:
    """A new kind of training (plain STBP under another name), registered as a module of
    ``training/`` would register it."""

    @register_kind
    class Toy(Strategy):
        name = "toy_kind"
        title = "toy SNN"
        order = 15

    yield "toy_kind"
    del STRATEGIES["toy_kind"]


def test_a_registered_training_kind_is_accepted_by_train_kind(toy_kind: str) -> None:
    validate(compose("train.kind=toy_kind"))
    assert list(STRATEGIES)[:3] == ["stbp", "toy_kind", "ann"]  # by its declared order
    with pytest.raises(ConfigError, match=r"^train.kind='nope' is unknown; accepted: .*toy_kind"):
        validate(compose("train.kind=nope"))
