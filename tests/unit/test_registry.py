"""A new extension is its own module (and a config file): no central list names it. Gradient
modes, kinds of training, attack methods, datasets, models, analyses, report tables and figures,
foreign-library adapters, adversaries of adversarial training and surrogates register
themselves (``@register``), their packages discover them (``registry.discover``), and the
validation, the runs and the report read the registries."""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from harness import ROOT, compose

from snnattack.analysis import ANALYSES
from snnattack.analysis import register as register_analysis
from snnattack.attacks.grids import tunable
from snnattack.attacks.methods import METHODS
from snnattack.attacks.methods import register as register_method
from snnattack.config.validation import validate
from snnattack.data import DATAMODULES
from snnattack.data import register as register_dataset
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, gradient_mode, register
from snnattack.gradients.base import neuron_settings
from snnattack.interop.adapter import ADAPTERS
from snnattack.interop.adapter import register as register_adapter
from snnattack.models import MODELS, build
from snnattack.models import register as register_model
from snnattack.registry import Registry, discover
from snnattack.report.figures import FIGURES
from snnattack.report.figures import register as register_figure
from snnattack.report.tables import TABLES, mode_name
from snnattack.report.tables import register as register_table
from snnattack.snn.surrogates import SURROGATES, Triangle
from snnattack.snn.surrogates import register as register_surrogate
from snnattack.training import STRATEGIES, Strategy
from snnattack.training import register as register_kind
from snnattack.training.adversaries import ADVERSARIES, set_training_mode
from snnattack.training.adversaries import register as register_adversary
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
    ("conversion", "training/checks.py"): "the train.conversion block's name",
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
    # its tuning grid, from the command line or a user's config: every route once refused it
    # as an unknown key, and only an edit of the package's conf/config.yaml tuned it
    tuned = (search, "attack=toy", "attack.tune.enabled=true")
    with pytest.raises(ConfigError, match=r"^attack.tune.grids.toy is missing: .* a grid for it"):
        validate(compose(*tuned))
    validate(compose(*tuned, "+attack.tune.grids.toy={gamma:[0.25,0.5]}"))
    with pytest.raises(ConfigError, match=r"^attack.tune.grids.toy.gamma=2.0 is out of range"):
        validate(compose(*tuned, "+attack.tune.grids.toy={gamma:[0.5,2.0]}"))
    with pytest.raises(ConfigError, match=r"^attack.tune.grids.tyo .* \(did you mean toy\?\)"):
        validate(compose("+attack.tune.grids.tyo={gamma:[0.5]}"))

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


# Each kind of extension: its registry, its package, the names discovery fills it with (in
# their declared order), how a module registers a new entry (the decorator's line and the
# definition below it) and its config group (None: it has none).
KINDS = {
    "gradient mode": (
        GRADIENT_MODES,
        "snnattack.gradients",
        ["stbp", "rga", "rga_layerwise", "bptr", "hart", "ann", "pdsg", "assg"],
        'from snnattack.gradients import register\n@register("{name}", title="T", order={order})\n'
        "def make(model):\n    return None\n",
        "attack",
    ),
    "training kind": (
        STRATEGIES,
        "snnattack.training",
        ["stbp", "ann", "conversion", "hybrid"],
        "from snnattack.training import Strategy, register\n@register\nclass Kind(Strategy):\n"
        '    name, title, order = "{name}", "T", {order}\n',
        None,
    ),
    "method": (
        METHODS,
        "snnattack.attacks.methods",
        [
            "fgsm",
            "rfgsm",
            "pgd",
            "bim",
            "mifgsm",
            "apgd",
            "sapgd",
            "square",
            "autoattack",
            "sda",
            "sparsefool",
            "sparsefool_universal",
            "spike_grad",
            "event_patch",
            "event_patch_universal",
            "gsattack",
            "gsattack_frames",
            "retime",
        ],
        'from snnattack.attacks.methods import register\n@register("{name}", order={order})\n'
        "def make(model, eps, steps: int = 1):\n    return None\n",
        "method",
    ),
    "dataset": (
        DATAMODULES,
        "snnattack.data",
        ["digits", "digits_events", "cifar10", "cifar100", "cifar10_dvs", "nmnist", "dvs_gesture"],
        "from snnattack.data import register\nfrom snnattack.data.base import SplitDataModule\n"
        '@register("{name}", order={order})\nclass Data(SplitDataModule):\n    pass\n',
        "dataset",
    ),
    "model": (
        MODELS,
        "snnattack.models",
        [
            *("vgg11", "vgg16", "dvs_vgg", "vgg5", "vgg11_eccv", "resnet17", "resnet19"),
            *("digits_net", "digits_resnet", "wrn16_4"),
        ],
        'from snnattack.models import register\n@register("{name}", order={order})\n'
        "def body(num_classes, in_channels, neuron):\n    return None\n",
        "model",
    ),
    "analysis": (
        ANALYSES,
        "snnattack.analysis",
        ["shuffle", "rate_current", "cost"],
        'from snnattack.analysis import register\n@register("{name}", order={order})\n'
        "def run(opts, model, dm, device):\n    return {{}}\n",
        "analysis",
    ),
    "report table": (
        TABLES,
        "snnattack.report",
        [
            *("table2", "table1", "cost", "ensemble", "tuning", "masking", "adversarial"),
            "event_budget",
            "retime_budget",
            "recording_budget",
            "notes",
        ],
        'from snnattack.report.tables import register\n@register("{name}", order={order})\n'
        "def table(jobs):\n    return None\n",
        None,
    ),
    "report figure": (
        FIGURES,
        "snnattack.report",
        [
            *("asr_vs_eps", "asr_vs_lambda", "adv_acc_vs_T", "kinds", "rate_current"),
            *("beta_gamma", "cost", "asr_vs_l0", "asr_vs_retiming", "event_examples"),
            "convergence",
            "robust_vs_cost",
        ],
        "from snnattack.report.figures import register\n"
        '@register("{name}", order={order}, caption="C")\n'
        "def figure(rows, path):\n    return None\n",
        None,
    ),
    "adapter": (
        ADAPTERS,
        "snnattack.interop",
        ["spikingjelly", "snntorch", "snn_rat"],
        'from snnattack.interop.adapter import register\n@register("{name}", order={order})\n'
        "class Library:\n    neurons, supported = ('{name}.neuron',), ('{name}.LIF',)\n",
        None,
    ),
    "adversary": (
        ADVERSARIES,
        "snnattack.training.adversaries",
        ["fgsm", "fgsm_rs", "pgd", "trades"],
        "from snnattack.training.adversaries import Method, register\n@register\n"
        'class Toy(Method):\n    name, order = "{name}", {order}\n',
        None,
    ),
    "surrogate": (
        SURROGATES,
        "snnattack.snn",
        ["triangle", "rectangle", "sigmoid", "atan", "fast_sigmoid"],
        "from snnattack.snn.surrogates import Surrogate, register\n@register\n"
        'class Slope(Surrogate):\n    name, order = "{name}", {order}\n',
        None,
    ),
}
REGISTERS: dict[str, Callable[[str], Callable]] = {  # registering an existing name directly
    "gradient mode": lambda name: register(name, title="Again", order=1),
    "training kind": lambda name: register_kind,
    "method": lambda name: register_method(name, order=1),
    "dataset": lambda name: register_dataset(name, order=1),
    "model": lambda name: register_model(name, order=1),
    "analysis": lambda name: register_analysis(name, order=1),
    "report table": lambda name: register_table(name, order=1),
    "report figure": lambda name: register_figure(name, order=1, caption="Again"),
    "adapter": lambda name: register_adapter(name, order=1),
    "adversary": lambda name: register_adversary,
    "surrogate": lambda name: register_surrogate,
}


def _entry_module(entry: object) -> str:
    """The module that defined a registered entry (a function, class, or a wrapper of one)."""
    for attr in ("make", "draw"):
        entry = getattr(entry, attr, entry)
    return entry.__module__ if hasattr(entry, "__module__") else type(entry).__module__


@pytest.mark.parametrize("kind", KINDS)
def test_each_registry_is_filled_by_its_package_modules_in_their_declared_order(kind) -> None:
    registry, package, names, _, _ = KINDS[kind]
    assert isinstance(registry, Registry)
    assert list(registry) == names
    orders = [registry.orders[n] for n in names]
    assert orders == sorted(orders)
    for entry in registry.values():
        module = type(entry).__module__ if kind == "training kind" else _entry_module(entry)
        assert module.startswith(f"{package}."), (kind, module)


@pytest.mark.parametrize("kind", KINDS)
def test_a_name_registered_twice_is_refused_and_the_first_entry_kept(kind) -> None:
    registry, _, names, _, _ = KINDS[kind]
    first = registry[names[0]]

    def again():
        return None

    if kind == "training kind":
        again = type("Again", (STRATEGIES[names[0]].__class__,), {})
    if kind in ("surrogate", "adversary", "dataset"):  # a class of its kind's base
        again = type("Again", (registry[names[0]],), {})
    with pytest.raises(ValueError, match=f"^'{names[0]}' is registered twice$"):
        REGISTERS[kind](names[0])(again)
    assert registry[names[0]] is first and list(registry) == names


def test_a_dataset_that_is_no_split_datamodule_is_refused_as_its_module_loads() -> None:
    """A plain LightningDataModule, as the docs once described one, failed in the job with an
    AttributeError traceback (no FACTS, no check_files)."""
    with pytest.raises(TypeError, match=r"^@register\('bars'\) .* not a subclass of .*Split"):
        register_dataset("bars", order=99)(type("Bars", (L.LightningDataModule,), {}))
    assert "bars" not in DATAMODULES


@pytest.fixture
def new_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Writes a package into ``tmp_path`` whose ``__init__`` discovers its modules, as every
    package of extensions does; yields a function that writes one module and imports it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(name: str, module: str) -> None:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "__init__.py").write_text(
            "from snnattack.registry import discover\n\ndiscover(__name__, __path__)\n"
        )
        (folder / "entry.py").write_text(module)
        made.append(name)
        importlib.import_module(name)

    yield make
    for name in made:
        sys.modules.pop(f"{name}.entry", None)
        sys.modules.pop(name, None)


@pytest.mark.parametrize("kind", KINDS)
def test_a_module_of_a_package_registers_its_entry_when_the_package_discovers_it(
    kind, new_package
) -> None:
    registry, _, names, module, _ = KINDS[kind]
    order = 15  # between the first entries' orders: its place is its order's
    name = f"toy_{kind.replace(' ', '_')}"
    try:
        new_package(f"toy_package_{kind.replace(' ', '_')}", module.format(name=name, order=order))
        place = len([n for n in names if registry.orders[n] <= order])
        assert list(registry) == [*names[:place], name, *names[place:]]
    finally:
        registry.pop(name, None)
        registry.orders.pop(name, None)
    assert list(registry) == names


def test_discovery_leaves_a_package_command_line_alone(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "cli_package").mkdir()
    (tmp_path / "cli_package" / "__main__.py").write_text("raise SystemExit('ran')\n")
    (tmp_path / "cli_package" / "entry.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        discover("cli_package", [str(tmp_path / "cli_package")])
        assert sys.modules["cli_package.entry"].LOADED
        assert "cli_package.__main__" not in sys.modules
    finally:
        for module in ("cli_package.entry", "cli_package"):
            sys.modules.pop(module, None)


def _config_names(group: str, field: str | None) -> dict[str, str]:
    """Each ``conf/<group>/*.yaml`` file's stem and the registered name it selects: its
    ``field`` (``name``, ``grad_mode``; below ``<group>`` in a global package), or its stem if
    the group has no such field."""
    found = {}
    for path in sorted((ROOT / "conf" / group).glob("*.yaml")):
        node = yaml.safe_load(path.read_text()) or {}
        node = node.get(group, node) if "@package _global_" in path.read_text() else node
        found[path.stem] = node[field] if field else path.stem
    return found


# the group's field naming the registered entry, and its files that select no entry (and why)
GROUPS = {
    "attack": ("grad_mode", {}),
    "method": (
        "name",
        {
            "ensemble": "the worst-case ensemble of methods (attacks/ensemble.py)",
            "ensemble_quick": "its cheaper preset for interactive use",
        },
    ),
    "dataset": ("name", {}),
    "model": ("name", {"external": "the user's network (interop/external.py)"}),
    "analysis": (None, {}),
}


@pytest.mark.parametrize("kind", [k for k in KINDS if KINDS[k][4]])
def test_every_registered_name_has_its_config_file_and_every_config_file_its_entry(kind) -> None:
    registry, _, _, _, group = KINDS[kind]
    field, unregistered = GROUPS[group]
    selected = _config_names(group, field)
    assert set(registry) <= set(selected)  # conf/<group>/<name>.yaml for every name
    assert all(selected[name] == name for name in registry)
    others = {stem for stem, name in selected.items() if name not in registry}
    assert others == set(unregistered)


def test_every_training_kind_has_its_default_reset_and_no_other_is_listed() -> None:
    kinds = yaml.safe_load((ROOT / "conf" / "train" / "_kinds.yaml").read_text())
    assert list(kinds["resets"]) == list(STRATEGIES)


def test_an_adversary_crafts_in_the_training_mode_its_bn_says_and_restores_the_model() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.Dropout())
    before = net[1].running_mean.clone()
    for bn, training in (("train", True), ("eval", False)):
        with set_training_mode(net.eval(), bn=bn):
            assert [m.training for m in net.modules()] == [training] * 4
            net(torch.randn(8, 4) + 3)  # train: moves the running mean, restored after
        assert not net.training and torch.equal(net[1].running_mean, before)
    with pytest.raises(ValueError, match="^bn='batch' is unknown; accepted: eval, train$"):
        with set_training_mode(net, bn="batch"):
            pass


def test_a_registered_adapter_makes_its_library_neurons_known_to_every_adapter(new_package):
    """A new library's module: its neuron classes are refused by the other adapters, listed
    among the supported ones, and a network of it is adapted by it alone."""
    from snnattack.interop import adapt, supported
    from snnattack.interop.adapter import neuron_libraries

    module = (
        "from torch import nn\nfrom snnattack.interop.adapter import register\n"
        "class Node(nn.Module):\n    pass\n"
        '@register("toy_lib", order=15)\nclass ToyLib:\n'
        "    neurons, supported = ('toy_lib_pkg.entry',), ('toy_lib.Node',)\n"
        "    owns = staticmethod(lambda net: isinstance(net, Node))\n"
        "    has_own_loop = staticmethod(lambda net: False)\n"
        "    body = staticmethod(lambda net: nn.Flatten(2))\n"
    )
    try:
        new_package("toy_lib_pkg", module)
        assert list(ADAPTERS) == ["spikingjelly", "toy_lib", "snntorch", "snn_rat"]
        assert "toy_lib_pkg.entry" in neuron_libraries()
        assert supported().index("toy_lib.Node") == len(ADAPTERS["spikingjelly"].supported)
        net = adapt(sys.modules["toy_lib_pkg.entry"].Node(), T=2)
        assert net(torch.ones(3, 4)).shape == (3, 4)
    finally:
        ADAPTERS.pop("toy_lib", None)
        ADAPTERS.orders.pop("toy_lib", None)
    assert list(ADAPTERS) == ["spikingjelly", "snntorch", "snn_rat"]
