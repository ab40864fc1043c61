"""Bad input to the Python API (``snnattack.evaluate``, ``attack``, ``gradient_mode``) is refused
before any attack in one line naming the argument (``snnattack.inputs``); nothing is
written and the user's model is unchanged. Legal neighbours of each case still run."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fixtures_digits import trained
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import snnattack
from snnattack.errors import CheckpointError, ConfigError, UserError
from snnattack.inputs import check_attack, check_batch
from snnattack.models.zoo import build

LABELS = "accepted: class indices, a torch.long tensor of shape [B]"
IMAGES = "floating-point images [B, C, H, W] in [0, 1]"
EMPTY = "accepted: a DataLoader or Dataset of (images in [0, 1], labels), a list of (image"
PAIRS = "accepted: batches of (images, labels) pairs"
NOT_TENSOR = "is not a tensor; accepted: a torch.Tensor"
DIFFERENTIABLE = "its output does not depend differentiably on the image"


@pytest.fixture(scope="module")
def digits(request: pytest.FixtureRequest):
    """The session's 4-epoch digits SNN and 16 test images."""
    model, x, y = trained(request.getfixturevalue("digits_store"))
    return model, x[:16], y[:16]


def nan_weight(model: nn.Module) -> nn.Module:
    broken = copy.deepcopy(model)
    next(broken.parameters()).data.view(-1)[0] = float("nan")
    return broken


def spikingjelly_net(
    last: nn.Module | None = None, in_channels: int = 1, middle: nn.Module | None = None
) -> nn.Module:
    """A small spikingjelly conv network on 8x8 images; ``last`` appended after it,
    ``middle`` after its neuron (before the layers with weights that follow it)."""
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import functional, layer, neuron

    net = nn.Sequential(
        layer.Conv2d(in_channels, 4, 3, padding=1),
        neuron.LIFNode(tau=2.0),
        *([middle] if middle is not None else []),
        layer.Flatten(),
        layer.Linear(4 * 64, 10),
        *([last] if last is not None else []),
    )
    functional.set_step_mode(net, "m")
    return net


class Step(nn.Module):
    """A user's own Heaviside spike without a surrogate (a name the adapter does not know)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x >= 0.5).float()


class Gate(nn.Module):
    """A user's own threshold without autograd, ``(x > 0.2)``: inside a network, the layers
    with weights after it keep the output requiring grad, but not through the image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0.2).to(x.dtype)


class WithSpikes(nn.Module):
    """A network returning ``(out, spikes)``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)
        return out, (out > 0).float()


def one_value(model: nn.Module) -> nn.Module:
    """A copy of the SpikingNet ``model`` whose decode sums the logits: one number per image."""
    net = copy.deepcopy(model)
    net.decode = lambda out: out.mean(0).sum(1)
    return net


def five_classes() -> nn.Module:
    from snnattack.models import build

    return build("digits_net", num_classes=5, in_channels=1, T=4)


class Raising(nn.Module):
    """A network whose forward has a bug."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, :, 99]


def gen(m: nn.Module, x: torch.Tensor, y: torch.Tensor):
    yield x, y


def attack(**kw: Any) -> Callable:
    """``snnattack.attack`` of a case: ``kw`` replace the model, x or y (a function of the
    digits' model, x, y)."""

    def call(m, x, y):
        args = {"model": m, "x": x, "y": y, **{k: v(m, x, y) for k, v in kw.items()}}
        return snnattack.attack(args.pop("model"), args.pop("x"), args.pop("y"), steps=1, **args)

    return call


def evaluate(data: Callable | None = None, **kw: Any) -> Callable:
    """``snnattack.evaluate`` of a case with ``data(m, x, y)`` (default ``(x, y)``) and the
    keyword arguments ``kw`` (a callable: of ``(m, x, y)``)."""

    def call(m, x, y):
        given = {k: (v(m, x, y) if callable(v) else v) for k, v in kw.items()}
        model = given.pop("model", m)
        d = data(m, x, y) if data else (x, y)
        return snnattack.evaluate(model, d, **{"methods": ["fgsm"], "masking": False, **given})

    return call


def with_test_split(
    x: torch.Tensor, y: torch.Tensor, others: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``others`` other images, as a test split holds the attacked ones."""
    images = torch.cat([x, torch.rand(others, *x.shape[1:])])
    return images, torch.cat([y, y[:1].repeat(others)])


class Pairs(Dataset):
    """Images and labels as a map-style dataset of (image, label) pairs (no TensorDataset)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])


def one_dataset_twice(model: nn.Module, dataset: TensorDataset) -> Any:
    """``snnattack.evaluate`` with two loaders of ``dataset``, as ``data`` and ``val_data``."""
    test, val = (DataLoader(dataset, batch_size=b) for b in (8, 4))
    return snnattack.evaluate(model, test, val_data=val, tune=True, masking=False)


def pixel_nan(x: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    out[0, 0, 0, 0] = float("nan")
    return out


def hair_above_one(x: torch.Tensor) -> torch.Tensor:
    """``x`` with one pixel at the float32 just above 1 (a rescaling's rounding)."""
    out = x.clone()
    out[0, 0, 0, 0] = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0))
    return out


def first_label(y: torch.Tensor, label: int) -> torch.Tensor:
    out = y.clone()
    out[0] = label
    return out


def last_label(y: torch.Tensor, label: int) -> torch.Tensor:
    out = y.clone()
    out[-1] = label
    return out


# (id, call, error type, the start of the one line, a part of it)
CASES = [
    # labels
    (
        "y float",
        attack(y=lambda m, x, y: y.float()),
        UserError,
        "y has dtype torch.float32",
        LABELS,
    ),
    ("y int32", attack(y=lambda m, x, y: y.int()), UserError, "y has dtype torch.int32", LABELS),
    ("y [B,1]", attack(y=lambda m, x, y: y[:, None]), UserError, "y has shape [16, 1]", LABELS),
    (
        "y one-hot",
        attack(y=lambda m, x, y: F.one_hot(y, 10)),
        UserError,
        "y has shape [16, 10]",
        "one-hot [B, K]: y.argmax(1)",
    ),
    (
        "y out of range",
        attack(y=lambda m, x, y: first_label(y, 10)),
        UserError,
        "y holds the label 10, out of range for the 10 classes of model",
        "accepted: labels in [0, 9]",
    ),
    ("y negative", attack(y=lambda m, x, y: y - 1), UserError, "y holds the label -1", "[0, 9]"),
    ("y list", attack(y=lambda m, x, y: y.tolist()), UserError, "y=list", NOT_TENSOR),
    (  # its hint was [B, 1]'s and one-hot's
        "y scalar",
        attack(y=lambda m, x, y: y[0]),
        UserError,
        "y has shape [] (one label, no batch axis)",
        "y.reshape(1)",
    ),
    (
        "data of a loader of unbatched items",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x, y), batch_size=None)),
        UserError,
        "data (its labels) has shape [] (one label, no batch axis)",
        "batch_size=None gives unbatched items",
    ),
    (
        "x and y lengths",
        attack(y=lambda m, x, y: y[:-1]),
        UserError,
        "x has 16 images but y has 15 labels",
        "accepted: as many labels as images",
    ),
    (  # it blamed the labels' count
        "x with an axis too many in front",
        attack(x=lambda m, x, y: x[None]),
        UserError,
        "x has 1 images but y has 16 labels (its shape [1, 16, 1, 8, 8] holds a batch of 16 "
        "on its second axis: one axis too many in front)",
        "accepted: as many labels as images",
    ),
    (  # a network's own time loop takes [T, B, ...]: it said "4 images but 16 labels" alone
        "images repeated over the time steps in front",
        attack(x=lambda m, x, y: x[None].repeat(4, 1, 1, 1, 1)),
        UserError,
        "x has 4 images but y has 16 labels (its shape [4, 16, 1, 8, 8] holds a batch of 16 "
        "on its second axis: time steps first, [T=4, B, ...]? The batch comes first: images "
        "[B, C, H, W] (the model runs its T steps on them), event frames [B, T, C, H, W])",
        "accepted: as many labels as images",
    ),
    # images
    ("x numpy", attack(x=lambda m, x, y: x.numpy()), UserError, "x=ndarray", NOT_TENSOR),
    ("x NaN", attack(x=lambda m, x, y: pixel_nan(x)), UserError, "x holds NaN or infinite", IMAGES),
    ("x inf", attack(x=lambda m, x, y: x / 0), UserError, "x holds NaN or infinite", IMAGES),
    (
        "x 0-255",
        attack(x=lambda m, x, y: x * 255),
        UserError,
        "x holds values in [0, 255]",
        "divide by 255",
    ),
    ("x negative", attack(x=lambda m, x, y: x - 0.5), UserError, "x holds values in [-0.5", IMAGES),
    (  # its bound was rounded to "1", inside the range it was refused for
        "x a hair above 1",
        attack(x=lambda m, x, y: hair_above_one(x)),
        UserError,
        "x holds values in [0, 1.0000001]",
        f"{IMAGES} (x.clamp(0, 1): values a rounding error outside)",  # not "divide by 255"
    ),
    (
        "x uint8",
        attack(x=lambda m, x, y: (x * 255).to(torch.uint8)),
        UserError,
        "x has dtype torch.uint8",
        "x.float() / 255",
    ),
    ("x 1-D", attack(x=lambda m, x, y: x.flatten()[:16]), UserError, "x has shape [16]", IMAGES),
    (
        "x empty",
        attack(x=lambda m, x, y: x[:0], y=lambda m, x, y: y[:0]),
        UserError,
        "x is empty (0 images)",
        "accepted: at least one image",
    ),
    (
        "x without channels",
        attack(x=lambda m, x, y: x[:, 0]),
        UserError,
        "model=SpikingNet: its forward on one image of x (shape [1, 8, 8]) raised",
        "x.unsqueeze(1)",
    ),
    (
        "x three channels",
        attack(x=lambda m, x, y: x.repeat(1, 3, 1, 1)),
        UserError,
        "model=SpikingNet: its forward on one image of x (shape [1, 3, 8, 8]) raised "
        "RuntimeError: Given groups=1",
        "to have 1 channels, but got 3",
    ),
    # data given to evaluate
    (
        "data without labels",
        evaluate(lambda m, x, y: DataLoader(x, batch_size=4)),
        UserError,
        "data: its batches are a Tensor (no labels)",
        PAIRS,
    ),
    (
        "data of triples",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x, y, y), batch_size=4)),
        UserError,
        "data: its batches are a list of 3 items",
        PAIRS,
    ),
    (
        "data of dicts",
        evaluate(lambda m, x, y: DataLoader([{"image": x[i], "label": y[i]} for i in range(16)])),
        UserError,
        "data: its batches are a dict of 2 items",
        PAIRS,
    ),
    (
        "data empty loader",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x[:0], y[:0]))),
        UserError,
        "data is empty (0 images)",
        EMPTY,
    ),
    (
        "data empty pair",
        evaluate(lambda m, x, y: (x[:0], y[:0])),
        UserError,
        "data[0] is empty (0 images)",
        "at least one image",
    ),
    ("data generator", evaluate(gen), UserError, "data=generator is not a data set", EMPTY),
    (
        "data pair of numpy",
        evaluate(lambda m, x, y: (x.numpy(), y.numpy())),
        UserError,
        "data[0]=ndarray",
        NOT_TENSOR,
    ),
    (
        "data lengths",
        evaluate(lambda m, x, y: (x, y[:8])),
        UserError,
        "data[0] has 16 images but data[1] has 8 labels",
        "as many labels as images",
    ),
    (
        "data float labels",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x, y.float()), batch_size=4)),
        UserError,
        "data (its labels) has dtype torch.float32",
        LABELS,
    ),
    (
        "data label out of range in a later batch",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x, last_label(y, 12)), batch_size=4)),
        UserError,
        "data (its labels) holds the label 12, out of range for the 10 classes of model",
        "[0, 9]",
    ),
    (
        "data list of items with float labels",
        evaluate(lambda m, x, y: [(x[i], float(y[i])) for i in range(16)]),
        UserError,
        "data (its labels) has dtype torch.float64",
        LABELS,
    ),
    (
        "data list of two items with a label out of range",
        evaluate(lambda m, x, y: [(x[0], 12), (x[1], int(y[1]))]),
        UserError,
        "data (its labels) holds the label 12, out of range for the 10 classes of model",
        "[0, 9]",
    ),
    (
        "data list of items in 0-255",
        evaluate(lambda m, x, y: [(x[i] * 255, int(y[i])) for i in range(16)]),
        UserError,
        "data (its images) holds values in [0, 255]",
        "divide by 255",
    ),
    (
        "data list of event streams",
        evaluate(lambda m, x, y: [(x[i].numpy(), int(y[i])) for i in range(16)]),
        UserError,
        "data=list is not a data set",
        EMPTY,
    ),
    (
        "data in 0-255",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x * 255, y), batch_size=4)),
        UserError,
        "data (its images) holds values in [0, 255]",
        "divide by 255",
    ),
    (
        "data NaN pixel",
        evaluate(lambda m, x, y: (pixel_nan(x), y)),
        UserError,
        "data[0] holds NaN or infinite pixels",
        IMAGES,
    ),
    (
        "val_data of another image size than data's",
        evaluate(val_data=lambda m, x, y: (F.interpolate(x, size=(16, 16)), y), tune=True),
        UserError,
        "val_data[0] holds samples of shape [1, 16, 16], but data's are [1, 8, 8]",
        "accepted: val_data of the same shape as data",
    ),
    (
        "val_data bad labels",
        evaluate(val_data=lambda m, x, y: (x, y[:, None]), tune=True),
        UserError,
        "val_data[1] has shape [16, 1]",
        LABELS,
    ),
    # models
    (
        "model NaN weight",
        evaluate(model=lambda m, x, y: nan_weight(m)),
        CheckpointError,
        "model=SpikingNet has non-finite (NaN or inf) weights in body.0.module.weight",
        "accepted: a model whose weights",
    ),
    (
        "attack NaN weight",
        attack(model=lambda m, x, y: nan_weight(m)),
        CheckpointError,
        "model=SpikingNet has non-finite (NaN or inf) weights",
        "accepted: a model whose weights",
    ),
    (
        "source NaN weight",
        evaluate(source=lambda m, x, y: nan_weight(m), boxes=["black"]),
        CheckpointError,
        "source=SpikingNet has non-finite (NaN or inf) weights",
        "accepted: a model whose weights",
    ),
    (
        "model on the meta device",
        attack(model=lambda m, x, y: copy.deepcopy(m).to("meta")),
        UserError,
        "model=SpikingNet has its weights on the meta device",
        "load_state_dict",
    ),
    (
        "T differs from the model's",
        lambda m, x, y: snnattack.attack(m, x, y, T=8, steps=1),
        UserError,
        "T=8 but model=SpikingNet is a SpikingNet of T=4",
        "accepted: T=None or T=4",
    ),
    (
        "T differs in evaluate",
        evaluate(T=2),
        UserError,
        "T=2 but model=SpikingNet is a SpikingNet of T=4",
        "accepted: T=None or T=4",
    ),
    (  # the line suggested model.T = 0, an invalid value
        "T out of range for a SpikingNet",
        lambda m, x, y: snnattack.attack(m, x, y, T=0, steps=1),
        UserError,
        "T=0 is out of range for model=SpikingNet, a SpikingNet of T=4",
        "accepted: T=None or T=4, its own",
    ),
    (  # an OverflowError (a traceback) or a line of 401 digits suggesting model.T = 10**400
        "T absurdly large",
        evaluate(T=10**400),
        UserError,
        "T=1000000000... (401 digits) is out of range (above 2**63 - 1, the largest integer a "
        "job takes) for model=SpikingNet",
        "accepted: T=None or T=4, its own",
    ),
    (  # int too large to convert to float: the spelling of a real key's value
        "a gradient mode's parameter absurdly large",
        evaluate(grad_mode="rga", grad_params={"beta": 10**400}),
        ConfigError,
        "grad_params['beta']=1000000000... (401 digits) is out of range (beyond ±1.8e+308, the "
        "largest float) for grad_mode=rga",
        "accepted: a finite number > 0",
    ),
    (
        "a method's parameter absurdly large",
        lambda m, x, y: snnattack.attack(m, x, y, steps=10**400),
        ConfigError,
        "steps=1000000000... (401 digits) is out of range (above 2**63 - 1",
        "accepted: an integer >= 1",
    ),
    (  # in the config's words: method.pgd.steps=-1, for an argument named steps
        "a method's parameter out of range",
        lambda m, x, y: snnattack.attack(m, x, y, steps=-1),
        ConfigError,
        "steps=-1 is out of range",
        "accepted: an integer >= 1",
    ),
    (  # the values in Python's words too: None, not null; True or False, not true or false
        "a method's parameter that may be None out of range",
        lambda m, x, y: snnattack.attack(m, x, y, alpha=-1),
        ConfigError,
        "alpha=-1 is out of range",
        "accepted: None or 0 < alpha <= 255",
    ),
    (
        "a method's parameter None where it must be set",
        lambda m, x, y: snnattack.attack(m, x, y, steps=None),
        ConfigError,
        "steps=None sets no value",
        "accepted: an integer >= 1",
    ),
    (
        "a method's switch not True or False",
        lambda m, x, y: snnattack.attack(m, x, y, random_start=2),
        ConfigError,
        "random_start=2 is not True or False",
        "accepted: True or False",
    ),
    (
        "a method's count given True",
        lambda m, x, y: snnattack.attack(m, x, y, steps=True),
        ConfigError,
        "steps=True is not an integer",
        "accepted: an integer >= 1",
    ),
    (  # was "overrides=[]: unknown key 'method.pgd.grad_param.beta'": no override was given
        "a dict as a method's parameter (grad_params mistyped)",
        lambda m, x, y: snnattack.attack(m, x, y, grad_param={"beta": 2.0}),
        UserError,
        "grad_param={'beta': 2.0} is a dict, which no method's parameter is",
        "accepted: a method's parameters each its own keyword (steps=20), the gradient mode's "
        "in grad_params={...}",
    ),
    (
        "a dict as a gradient mode's parameter",
        lambda m, x, y: snnattack.attack(m, x, y, grad_mode="rga", grad_params={"beta": {"x": 1}}),
        UserError,
        "grad_params['beta']={'x': 1} is a dict, which no parameter of grad_mode=rga is",
        "accepted: grad_params={'beta': <a number or name>}",
    ),
    (
        "a method's parameters in a dict",
        lambda m, x, y: snnattack.attack(m, x, y, method_params={"steps": 2}),
        UserError,
        "method_params={'steps': 2} is a dict, which no method's parameter is",
        "accepted: a method's parameters each its own keyword (steps=20)",
    ),
    (  # steps has a range (pgd's), but fgsm takes no steps: unknown, not out of range
        "a parameter the method does not take, out of another's range",
        lambda m, x, y: snnattack.attack(m, x, y, method="fgsm", steps=0),
        ConfigError,
        "steps=0 is unknown",
        "accepted: no parameters",
    ),
    (  # a misspelt keyword of attack's own, not a method's parameter: named as Python would
        "attack's own keyword misspelt",
        lambda m, x, y: snnattack.attack(m, x, y, epsilon=4),
        UserError,
        "epsilon=4 is not an argument of attack() nor a parameter of any method "
        "(did you mean eps?)",
        "accepted: model, x, y, method, eps, grad_mode, grad_params, T, seed, overrides, and "
        "the method's parameters as keywords (steps=20)",
    ),
    (
        "attack's time steps in lower case",
        lambda m, x, y: snnattack.attack(m, x, y, t=4),
        UserError,
        "t=4 is not an argument of attack() nor a parameter of any method (did you mean T?)",
        "the method's parameters as keywords (steps=20)",
    ),
    (  # Python's TypeError named no alternative
        "evaluate's keyword misspelt",
        lambda m, x, y: snnattack.evaluate(m, (x, y), epsilon=[4]),
        UserError,
        "epsilon=[4] is not an argument of evaluate() (did you mean eps?)",
        "accepted: model, data, eps, methods, grad_mode,",
    ),
    (
        "the benchmark's keyword misspelt",
        lambda m, x, y: snnattack.benchmark.evaluate(m, protocol="digits", name="n", reportd={}),
        UserError,
        "reportd={} is not an argument of evaluate() (did you mean reported?)",
        "accepted: model, data, protocol, name, paper,",
    ),
    (
        "load's time steps in lower case",
        lambda m, x, y: snnattack.load("vgg11", "model.pt", t=4),
        UserError,
        "t=4 is not an argument of load() (did you mean T?)",
        "accepted: arch, path, T, lam,",
    ),
    (
        "adapt's keyword misspelt",
        lambda m, x, y: snnattack.interop.adapt(m, T=4, decod="rate"),
        UserError,
        "decod='rate' is not an argument of adapt() (did you mean decode?)",
        "accepted: net, T, decode,",
    ),
    (  # Python's "missing 1 required keyword-only argument: 'T'", from the wrapper
        "adapt without its time steps",
        lambda m, x, y: snnattack.interop.adapt(m),
        UserError,
        "adapt() is missing the argument T; accepted: adapt(net, T=...), the other arguments",
        "as you need them",
    ),
    (
        "evaluate without its data",
        lambda m, x, y: snnattack.evaluate(m, eps=[8]),
        UserError,
        "evaluate() is missing the argument data; accepted: evaluate(model, data), ",
        "the other arguments as you need them",
    ),
    (
        "attack's overrides in the singular",
        lambda m, x, y: snnattack.attack(m, x, y, override=["seed=1"]),
        UserError,
        "override=['seed=1'] is not an argument of attack() nor a parameter of any method "
        "(did you mean overrides?)",
        "accepted: model, x, y",
    ),
    (  # its value was spelt as an override: 3,000 characters failing Hydra's grammar
        "evaluate's val_data given to attack, as a method's parameter",
        lambda m, x, y: snnattack.attack(m, x, y, method="ensemble", val_data=(x, y)),
        ConfigError,
        "val_data=<tuple> is unknown for method=ensemble",
        "accepted: components, poisson_eot_samples",
    ),
    (  # gradient_mode takes it as a keyword; attack's keywords are the method's
        "a gradient mode's parameter as attack's keyword",
        lambda m, x, y: snnattack.attack(m, x, y, grad_mode="rga", beta=2.0),
        ConfigError,
        "beta=2.0 is unknown for method=pgd (grad_mode=rga's: grad_params={'beta': 2.0})",
        "accepted: steps, alpha, eps_per_alpha, random_start",
    ),
    (
        "evaluate's progress given to attack",
        lambda m, x, y: snnattack.attack(m, x, y, progress=False),
        ConfigError,
        "progress=False is unknown for method=pgd (an argument of snnattack.evaluate)",
        "accepted: steps, alpha, eps_per_alpha, random_start",
    ),
    (  # sparsefool's lam (>= 1), not the neurons' leak, which the model holds
        "the leak as a method's parameter",
        lambda m, x, y: snnattack.attack(m, x, y, lam=0.5),
        ConfigError,
        "lam=0.5 is unknown",
        "accepted: steps, alpha, eps_per_alpha, random_start",
    ),
    (  # the accepted values in Python's words: None, not null
        "a gradient mode's parameter of gradient_mode unknown",
        lambda m, x, y: snnattack.gradient_mode(m, "stbp", surrogate="nope").__enter__(),
        UserError,
        "surrogate='nope' is unknown for gradient mode stbp",
        "accepted: None or triangle, rectangle",
    ),
    (  # an override's key and values stay as the caller wrote them: Hydra's words
        "a method's parameter out of range in an override",
        lambda m, x, y: snnattack.attack(m, x, y, overrides=["method.pgd.alpha=-1"]),
        ConfigError,
        "method.pgd.alpha=-1 is out of range",
        "accepted: null or 0 < method.pgd.alpha <= 255",
    ),
    (
        "the seed None in evaluate",
        evaluate(seed=None),
        ConfigError,
        "seed=None sets no value",
        "accepted: an integer in [0, 4294967295]",
    ),
    (
        "the seed None",
        lambda m, x, y: snnattack.attack(m, x, y, seed=None),
        ConfigError,
        "seed=None sets no value",
        "accepted: an integer in [0, 4294967295]",
    ),
    (  # attack.params.beta=-1 ... for attack=rga
        "a gradient mode's parameter out of range in attack",
        lambda m, x, y: snnattack.attack(m, x, y, grad_mode="rga", grad_params={"beta": -1}),
        ConfigError,
        "grad_params['beta']=-1 is out of range for grad_mode=rga",
        "accepted: a finite number > 0",
    ),
    (  # a misspelt name, with the one it is most like
        "a misspelt gradient mode in attack",
        lambda m, x, y: snnattack.attack(m, x, y, grad_mode="rgaa"),
        UserError,
        "grad_mode='rgaa': 'rgaa' is unknown (did you mean rga?)",
        "accepted: ann, assg, bptr",
    ),
    (
        "a misspelt gradient mode in gradient_mode",
        lambda m, x, y: snnattack.gradient_mode(m, "hartt").__enter__(),
        UserError,
        "gradient mode 'hartt' is unknown (did you mean hart?)",
        "accepted: stbp, rga",
    ),
    (
        "a misspelt parameter in gradient_mode",
        lambda m, x, y: snnattack.gradient_mode(m, "hart", gama=2).__enter__(),
        UserError,
        "gradient mode 'hart': gama=2 is unknown (did you mean gamma?)",
        "accepted: gamma",
    ),
    (  # was Python's 'unhashable type: list'
        "gradient_mode's mode in a list",
        lambda m, x, y: snnattack.gradient_mode(m, ["rga"]).__enter__(),
        UserError,
        "gradient mode ['rga'] is not a name",
        "accepted: stbp, rga",
    ),
    (
        "T not an integer in evaluate",
        evaluate(T=2.5),
        UserError,
        "T=2.5 is not an integer for model=SpikingNet, a SpikingNet of T=4",
        "accepted: T=None or T=4, its own",
    ),
    (  # printed as 4, it read 'T=4 but ... a SpikingNet of T=4'
        "T a string",
        evaluate(T="4"),
        UserError,
        "T='4' is not an integer for model=SpikingNet",
        "accepted: T=None or T=4, its own",
    ),
    (  # it would change nothing but the record's config
        "the model's lambda in attack's overrides",
        attack(overrides=lambda m, x, y: ["++lambda=0.5"]),
        UserError,
        "overrides=['++lambda=0.5'] sets lambda, which the model passed holds itself",
        "accepted: the model built with it (snnattack.load(..., T=, lam=, theta=, reset=, ",
    ),
    (  # the backend is the built network's (snnattack.snn.backend.set_backend)
        "the model's backend in evaluate's overrides",
        evaluate(overrides=["backend=torch"]),
        UserError,
        "overrides=['backend=torch'] sets backend, which the model passed holds itself",
        "or a job: python run.py backend=torch",
    ),
    (  # a call runs on the caller's torch threads: the record said 2, the run used 1
        "threads in evaluate's overrides",
        evaluate(overrides=["threads=2"]),
        UserError,
        "overrides=['threads=2'] sets threads, which a call leaves to your process",
        "accepted: torch.set_num_threads(...) before the call, or a job: python run.py threads=2",
    ),
    (  # a call writes no folder: the record said save_examples=True, nothing was saved
        "save_examples in evaluate's overrides",
        evaluate(overrides=["attack.save_examples=true"]),
        UserError,
        "overrides=['attack.save_examples=true'] sets attack.save_examples, which a call "
        "cannot do: it writes no folder",
        "accepted: snnattack.attack(...) for a batch's examples, or a job: python run.py "
        "attack.save_examples=true",
    ),
    (  # the call attacked the model passed: the record named another file
        "a checkpoint in evaluate's overrides",
        evaluate(overrides=["checkpoint=/tmp/model.pt"]),
        UserError,
        "overrides=['checkpoint=/tmp/model.pt'] sets checkpoint, which only a job reads",
        "accepted: the file's network passed as model (snnattack.load(name, path, ...)), or a "
        "job: python run.py checkpoint=/tmp/model.pt",
    ),
    (  # every batch was attacked: the record said one
        "a Trainer's limit in evaluate's overrides",
        evaluate(overrides=["trainer.limit_test_batches=1"]),
        UserError,
        "overrides=['trainer.limit_test_batches=1'] sets trainer.limit_test_batches, which only "
        "a job reads (the call would ignore it, and its record would claim it)",
        "accepted: the data you pass (a part of it for fewer batches)",
    ),
    (  # nothing was trained: the record said 3 epochs
        "a training setting in attack's overrides",
        attack(overrides=lambda m, x, y: ["train.epochs=3"]),
        UserError,
        "overrides=['train.epochs=3'] sets train.epochs, which only a job reads",
        "or a job: python run.py train.epochs=3",
    ),
    (
        "a source's steps in evaluate's overrides",
        evaluate(overrides=["source_T=2"]),
        UserError,
        "overrides=['source_T=2'] sets source_T, which only a job reads",
        "accepted: a source network built with it, passed as source",
    ),
    (  # it was refused as the config's model name: name='passed' is unknown
        "an analysis in evaluate's overrides",
        evaluate(overrides=["analysis=[shuffle]"]),
        UserError,
        "overrides=['analysis=[shuffle]'] sets analysis, which a call cannot do",
        "or a job: python run.py analysis=[shuffle]",
    ),
    (
        "an analysis in attack's overrides",
        attack(overrides=lambda m, x, y: ["+analysis.cost.repeats=2"]),
        UserError,
        "overrides=['+analysis.cost.repeats=2'] sets analysis.cost.repeats, which a call cannot do",
        "accepted:",
    ),
    (  # the model is the one passed: the config names no architecture
        "an architecture in attack's overrides",
        attack(overrides=lambda m, x, y: ["model=vgg11"]),
        UserError,
        "overrides=['model=vgg11'] sets model, which the model passed holds itself",
        "or a job: python run.py model=vgg11",
    ),
    (  # the encoding is the built model's encoder: the record said poisson, direct ran
        "the model's encoding in evaluate's overrides",
        evaluate(overrides=["encoding=poisson"]),
        UserError,
        "overrides=['encoding=poisson'] sets encoding, which the model passed holds itself",
        "(snnattack.load(..., T=, lam=, theta=, reset=, encoding=, levels=, backend=), or "
        "snnattack.models.zoo.build with them)",
    ),
    (
        "the model's T in evaluate's overrides",
        evaluate(overrides=["T=8"]),
        UserError,
        "overrides=['T=8'] sets T, which the model passed holds itself",
        "or a job: python run.py T=8",
    ),
    (  # the override would silently overrule the argument (the record would say 32)
        "an argument's key in attack's overrides",
        attack(overrides=lambda m, x, y: ["eps=[32]"]),
        UserError,
        "overrides=['eps=[32]'] sets eps, which the argument eps sets (eps=8)",
        "accepted: the argument eps, and overrides of other keys",
    ),
    (
        "attack's method in its overrides",
        attack(overrides=lambda m, x, y: ["++method=[fgsm]"]),
        UserError,
        "overrides=['++method=[fgsm]'] sets method, which the argument method sets (method=[pgd])",
        "accepted: the argument method,",
    ),
    (  # Hydra's own line advised a "+" that adds a key no method reads
        "a parameter of a method not chosen in evaluate's overrides",
        evaluate(overrides=["method.pgd.stepz=2"]),
        UserError,
        "method.pgd sets stepz of pgd, which is not in the chosen methods=[...]; accepted: ",
        "add pgd to methods=[...] (snnattack.api.job_config(...) lists the chosen)",
    ),
    (  # it named the command line's python run.py --cfg job, which a script has not run
        "an unknown key in evaluate's overrides",
        evaluate(overrides=["eval_batch_size=4", "lamda=0.5"]),
        ConfigError,
        "overrides=['lamda=0.5']: unknown key 'lamda'; did you mean 'lambda'? accepted: ",
        "the keys of the config that snnattack.api.job_config(...) returns",
    ),
    (  # it suggested method.ensemble.components, without saying that a list is given whole
        "an element of a list in evaluate's overrides",
        evaluate(overrides=["method.ensemble.components.7.params.n_queries=5"]),
        ConfigError,
        "overrides=['method.ensemble.components.7.params.n_queries=5']: unknown key 'method.",
        "an element of the list method.ensemble.components, and a list is overridden whole; "
        "accepted: method.ensemble.components=[...], the whole list",
    ),
    (
        "an unknown key added in attack's overrides",
        attack(overrides=lambda m, x, y: ["+zzz=1"]),
        ConfigError,
        "overrides=['+zzz=1']: unknown key 'zzz'; accepted: the keys of the config that ",
        "snnattack.api.job_config(...) returns",
    ),
    (  # composed, then refused by the job's validation in the command line's words
        "an unknown key in a dict of evaluate's overrides",
        evaluate(overrides=["++dataset.params={val_sizee: 5}"]),
        ConfigError,
        "overrides=['++dataset.params={val_sizee: 5}']: unknown key "
        "'dataset.params.val_sizee'; did you mean 'dataset.params.val_size'? ",
        "accepted: the keys of the config that snnattack.api.job_config(...) returns",
    ),
    (  # attack names its methods by its argument method
        "a parameter of a method not chosen in attack's overrides",
        attack(overrides=lambda m, x, y: ["method.fgsm.stepz=2"]),
        UserError,
        "method.fgsm sets stepz of fgsm, which is not in the chosen method=[...]; accepted: ",
        "add fgsm to method=[...]",
    ),
    (
        "a method parameter of attack in its overrides",
        attack(overrides=lambda m, x, y: ["method.pgd.steps=3"]),  # and steps=1
        UserError,
        "overrides=['method.pgd.steps=3'] sets method.pgd.steps, which the argument steps sets",
        "accepted: the argument steps,",
    ),
    (  # a node above the argument's key, replaced whole, overruled it too (3 steps ran)
        "a method's node replaced in attack's overrides",
        attack(overrides=lambda m, x, y: ["method.pgd={steps:3}"]),  # and steps=1
        UserError,
        "overrides=['method.pgd={steps:3}'] sets method.pgd.steps, which the argument steps",
        "accepted: the argument steps,",
    ),
    (
        "evaluate's grad_mode as a key in its overrides",
        evaluate(grad_mode="stbp", overrides=["attack.grad_mode=rga"]),
        UserError,
        "overrides=['attack.grad_mode=rga'] sets attack.grad_mode, which the argument grad_mode",
        "accepted: the argument grad_mode,",
    ),
    (  # attack crafts one white-box batch: two boxes would be two rows
        "a key attack fixes in its overrides",
        attack(overrides=lambda m, x, y: ["boxes=[black]"]),
        UserError,
        "overrides=['boxes=[black]'] sets boxes, which this call fixes (boxes=[white])",
        "accepted: overrides of other keys",
    ),
    (
        "evaluate's grad_mode in its overrides",
        evaluate(grad_mode="stbp", overrides=["attack=rga"]),
        UserError,
        "overrides=['attack=rga'] sets attack, which the argument grad_mode sets (attack=stbp)",
        "accepted: the argument grad_mode,",
    ),
    (
        "evaluate's seed in its overrides",
        evaluate(seed=0, overrides=["seed=3"]),
        UserError,
        "overrides=['seed=3'] sets seed, which the argument seed sets (seed=0)",
        "accepted: the argument seed,",
    ),
    (
        "a gradient parameter in evaluate's overrides",
        evaluate(grad_mode="rga", grad_params={"beta": 2}, overrides=["attack.params.beta=3"]),
        UserError,
        "overrides=['attack.params.beta=3'] sets attack.params.beta, which the argument "
        "grad_params['beta'] sets",
        "accepted: the argument grad_params['beta'],",
    ),
    (  # its black-box rows were the white-box rows, as a job refuses
        "the model itself as evaluate's source",
        evaluate(source=lambda m, x, y: m, boxes=["white", "black"]),
        UserError,
        "source is the model itself (the same object): its black-box rows would be white-box rows",
        "accepted: another network as source (e.g. trained from another seed), or boxes=['white']",
    ),
    (
        "a copy of the model as evaluate's source",
        evaluate(source=lambda m, x, y: copy.deepcopy(m), boxes=["black"]),
        UserError,
        "source is the model itself (a copy of its weights)",
        "or boxes=['white']",
    ),
    (
        "source of other classes",
        evaluate(source=lambda m, x, y: five_classes(), boxes=["black"]),
        UserError,
        "source=SpikingNet returns 5 classes but model=SpikingNet returns 10",
        "accepted: a source with the target's classes",
    ),
    (
        "model returning one value per image",
        attack(model=lambda m, x, y: one_value(m)),
        UserError,
        "model=SpikingNet returns [1] for one image of x (shape [1, 1, 8, 8])",
        "accepted: logits [B, K]",
    ),
    (
        "x on the meta device",
        attack(x=lambda m, x, y: x.to("meta")),
        UserError,
        "x is on the meta device (no values)",
        IMAGES,
    ),
    (
        "T zero for a foreign network",
        lambda m, x, y: snnattack.attack(spikingjelly_net(), x, y, T=0),
        UserError,
        "T=0 is out of range for model=Sequential",
        "accepted: T=<time steps>, an integer >= 1",
    ),
    (
        "T fractional for a foreign network",
        lambda m, x, y: snnattack.evaluate(spikingjelly_net(), (x, y), T=2.5),
        UserError,
        "T=2.5 is not an integer for model=Sequential",
        "an integer >= 1",
    ),
    (
        "y on the meta device",
        attack(y=lambda m, x, y: y.to("meta")),
        UserError,
        "y is on the meta device (no values)",
        LABELS,
    ),
    (
        "x of another dtype than the weights",
        attack(x=lambda m, x, y: x.double()),
        UserError,
        "model=SpikingNet: the images of x are torch.float64",
        "in the weights' dtype torch.float32 (not torch.float64: .to(torch.float32))",
    ),
    *(  # were accepted (promoted by the normalisation) and returned as examples of their dtype
        (
            f"x of {dtype}, below the weights' float32",
            attack(x=lambda m, x, y, dtype=dtype: x.to(dtype)),
            UserError,
            f"model=SpikingNet: the images of x are {dtype}",
            f"in the weights' dtype torch.float32 (not {dtype}: .to(torch.float32))",
        )
        for dtype in (torch.float16, torch.bfloat16)
    ),
    (
        "val_data is data",
        evaluate(val_data=lambda m, x, y: (x, y), tune=True),
        UserError,
        "val_data is the test data (data)",
        "never the test data",
    ),
    (
        "val_data equal to data",
        evaluate(val_data=lambda m, x, y: (x.clone(), y.clone()), tune=True),
        UserError,
        "val_data is the test data (data)",
        "never the test data",
    ),
    (
        "val_data mostly test images, which tuning would read",
        evaluate(val_data=lambda m, x, y: (torch.cat([x[:6], x[-2:] * 0.5]), y[:8]), tune=True),
        UserError,
        "val_data holds 6 of its 8 images from the test data (data); accepted: held-out",
        "never the test data",
    ),
    (
        "val_data the test split as a dataset of its own (torchvision's, a DataModule's)",
        evaluate(val_data=lambda m, x, y: Pairs(x, y), tune=True),
        UserError,
        "val_data holds 16 of its 16 images from the test data (data); accepted: held-out",
        "never the test data",
    ),
    (
        "val_data the whole test split, of which data is the first images",
        evaluate(val_data=lambda m, x, y: with_test_split(x, y, 2000), tune=True),
        UserError,
        "val_data holds 16 of its 2016 images from the test data (data); accepted: held-out",
        "never the test data",
    ),
    (
        "val_data a tenth test images",
        evaluate(val_data=lambda m, x, y: with_test_split(x[:10], y[:10], 90), tune=True),
        UserError,
        "val_data holds 10 of its 100 images from the test data (data); accepted: held-out",
        "never the test data",
    ),
    (
        "val_data a loader of data's Dataset",
        lambda m, x, y: one_dataset_twice(m, TensorDataset(x, y)),
        UserError,
        "val_data is the test data (data)",
        "never the test data",
    ),
    # arguments
    (
        "eps a list in attack",
        attack(eps=lambda m, x, y: [8, 16]),
        UserError,
        "eps=[8, 16] is not one radius; accepted: a number in (0, 255] in 1/255 units",
        "snnattack.evaluate takes several",
    ),
    (  # the config's rule of a list of radii answered attack() "accepted: a list ..."
        "eps out of range in attack",
        attack(eps=lambda m, x, y: -1),
        UserError,
        "eps=-1 is out of range; accepted: a number in (0, 255] in 1/255 units",
        "snnattack.evaluate takes several",
    ),
    (  # the config's rule answered in list form: "eps=[0] ... at least one eps > 0"
        "eps zero in attack",
        attack(eps=lambda m, x, y: 0),
        UserError,
        "eps=0 attacks nothing (the clean images); accepted: a number in (0, 255] in 1/255",
        "snnattack.evaluate takes several",
    ),
    (
        "eps not a number in attack",
        attack(eps=lambda m, x, y: True),
        UserError,
        "eps=True is not a number; accepted: a number in (0, 255] in 1/255 units",
        "snnattack.evaluate takes several",
    ),
    (  # it named the config key it sets: checks.masking.enabled='no' is not true or false
        "masking not a switch",
        evaluate(masking="no"),
        UserError,
        "masking='no' is not True or False; accepted: True or False",
        "masking=",
    ),
    (
        "progress not a switch",
        evaluate(progress="yes"),
        UserError,
        "progress='yes' is not True or False; accepted: True or False",
        "progress=",
    ),
    (
        "tune not a switch",
        evaluate(tune=1),
        UserError,
        "tune=1 is not True or False; accepted: True or False",
        "tune=",
    ),
    (
        "grad_params not a dict",
        attack(grad_mode=lambda m, x, y: "rga", grad_params=lambda m, x, y: ["beta=2"]),
        UserError,
        "grad_params=['beta=2'] is not a dict; accepted: None or {name: value}",
        "grad_mode=rga's parameters",
    ),
    (
        "grad_params of another mode",
        attack(grad_mode=lambda m, x, y: "rga", grad_params=lambda m, x, y: {"betta": 2.0}),
        UserError,
        "grad_params['betta'] is unknown for grad_mode=rga (did you mean beta?); accepted: beta, "
        "gamma",
        "grad_params['betta']",
    ),
    (
        "overrides a string",
        evaluate(overrides="eval_batch_size=16"),
        UserError,
        "overrides='eval_batch_size=16' is not a list",
        "accepted: a list of 'key=value' strings: ['eval_batch_size=16']",
    ),
    (
        "overrides of a number",
        evaluate(overrides=["eval_batch_size=16", 3]),
        UserError,
        "overrides=['eval_batch_size=16', 3]: 3 is not a string",
        "accepted: a list of 'key=value' strings",
    ),
    (  # not Hydra's OverrideParseException (two lines and a URL)
        "an override Hydra cannot parse",
        attack(overrides=lambda m, x, y: ["===="]),
        UserError,
        "overrides=['====']: '====' is not a key=value override",
        "accepted: a list of 'key=value' strings, one value each",
    ),
    (
        "an override without a value",
        evaluate(overrides=["eval_batch_size=16", "lambda"]),
        UserError,
        "overrides=['eval_batch_size=16', 'lambda']: 'lambda' is not a key=value override",
        "accepted: a list of 'key=value' strings",
    ),
    (  # not Hydra's advice to add --multirun to a command line
        "a sweep in overrides",
        evaluate(overrides=["method.pgd.steps=2,3"]),
        UserError,
        "overrides=['method.pgd.steps=2,3']: 'method.pgd.steps=2,3' gives method.pgd.steps "
        "several values (a sweep, which a call does not run)",
        "one value each (a list: method.pgd.steps=[a,b]",
    ),
    (  # a value of 400 digits was printed whole, in every message naming the override
        "a model key of 400 digits in evaluate's overrides",
        evaluate(overrides=["T=" + "1" * 400]),
        UserError,
        "overrides=['T=1111111111... (400 digits)'] sets T, which the model passed holds",
        "or a job: python run.py T=1111111111... (400 digits)",
    ),
    (
        "an argument's key of 400 digits in attack's overrides",
        attack(overrides=lambda m, x, y: ["eps=[" + "1" * 400 + "]"]),
        UserError,
        "overrides=['eps=[1111111111... (400 digits)]'] sets eps, which the argument eps sets",
        "accepted: the argument eps",
    ),
    (
        "an unknown key of 400 digits in evaluate's overrides",
        evaluate(overrides=["lamda=" + "1" * 400]),
        ConfigError,
        "overrides=['lamda=1111111111... (400 digits)']: unknown key 'lamda'",
        "did you mean 'lambda'?",
    ),
    (
        "a sweep of 400 digits in evaluate's overrides",
        evaluate(overrides=["eps=" + "1" * 400 + ",2"]),
        UserError,
        "overrides=['eps=1111111111... (400 digits),2']: 'eps=1111111111... (400 digits),2' "
        "gives eps several values",
        "a sweep: one call per value",
    ),
    (  # Hydra's int() raised its ValueError past Python's 4300 digits, a traceback
        "a value past Python's digits in attack's overrides",
        attack(overrides=lambda m, x, y: ["method.pgd.steps=" + "1" * 5000]),
        UserError,
        "overrides=['method.pgd.steps=1111111111... (5000 digits)']: 'method.pgd.steps="
        "1111111111... (5000 digits)' holds an integer of more than 4300 digits, more than "
        "Python reads; accepted: a number of fewer digits",
        "",
    ),
    (
        "attack overrides a string",
        lambda m, x, y: snnattack.attack(m, x, y, overrides="method.pgd.steps=2"),
        UserError,
        "overrides='method.pgd.steps=2' is not a list",
        "accepted: a list",
    ),
    (  # it asked for T first, as if the network would run once given one
        "a plain CNN without T",
        lambda m, x, y: snnattack.attack(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), x, y),
        UserError,
        "interop: Sequential has no known neuron",
        "a network of yours without spiking neurons (an ANN) is not taken",
    ),
]

# foreign networks (spikingjelly), on the digits' images: (id, network, call, error, start, part)
FOREIGN = [
    (  # attacked: its cross-entropy has no gradient, the examples were the random starts
        "a binary classifier's one logit",
        lambda: spikingjelly_net(nn.Linear(10, 1)),
        UserError,
        "model=Sequential returns 1 logit per image ([1, 1] for one image of {data})",
        "torch.cat([torch.zeros_like(z), z], 1)",
    ),
    (
        "a custom Heaviside the adapter does not know",
        lambda: spikingjelly_net(Step()),
        UserError,
        f"model=Sequential: {DIFFERENTIABLE}",
        "accepted: a network with a gradient in its input",
    ),
    (
        "a threshold without autograd inside the network, named in the line",
        lambda: spikingjelly_net(middle=Gate()),
        UserError,
        f"model=Sequential: {DIFFERENTIABLE} (its module 2 (",
        "Gate) cuts the graph",
    ),
    (
        "a network returning (out, spikes)",
        lambda: WithSpikes(spikingjelly_net()),
        UserError,
        "model=WithSpikes returns a tuple of 2, not one tensor",
        "not (out, spikes): return out",
    ),
    (
        "a forward that raises",
        lambda: Raising(spikingjelly_net()),
        UserError,
        "model=Raising: its forward on one image of {data} (shape [1, 1, 8, 8]) raised IndexError",
        "accepted: a network that takes the images of {data}",
    ),
    (
        "three channels on one-channel images",
        lambda: spikingjelly_net(in_channels=3),
        UserError,
        "model=Sequential: its forward on one image of {data} (shape [1, 1, 8, 8]) raised",
        "to have 3 channels, but got 1",
    ),
    (
        "a torch.compile'd SpikingNet, which was adapted as a foreign network",
        lambda: torch.compile(build("digits_net", 10, in_channels=1, T=4)),
        UserError,
        "model=torch.compile(SpikingNet): a compiled SpikingNet is not adapted",
        "accepted: model._orig_mod, the SpikingNet itself",
    ),
    (
        "a SpikingNet after a normalisation in an nn.Sequential, which was refused as a "
        "network of no known neuron",
        lambda: nn.Sequential(nn.Identity(), build("digits_net", 10, in_channels=1, T=4)),
        UserError,
        "model=Sequential holds a snnattack SpikingNet (1), which runs only passed itself",
        "accepted: the SpikingNet itself, with a normalisation in its own normalize",
    ),
    (
        "a NaN weight",
        lambda: nan_weight(spikingjelly_net()),
        CheckpointError,
        "interop: the network Sequential has non-finite (NaN or inf) weights in 0.weight",
        "accepted: a model whose weights",
    ),
]


def state(model: nn.Module) -> tuple[dict[str, torch.Tensor], list[bool]]:
    return copy.deepcopy(model.state_dict()), [m.training for m in model.modules()]


def assert_refused(
    call: Callable, model: nn.Module, error: type, start: str, part: str, folder: Path
) -> None:
    """``call()`` raises exactly ``error`` in one line starting with ``start``, holding
    ``part``, having written nothing and left ``model`` as it was."""
    weights, flags = state(model)
    with pytest.raises(UserError) as err:
        call()
    line = str(err.value)
    assert type(err.value) is error, line
    assert line.startswith(start) and part in line and "accepted" in line, line
    assert "\n" not in line
    assert list(folder.iterdir()) == []
    after, after_flags = state(model)
    assert after_flags == flags
    torch.testing.assert_close(after, weights, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize(
    ("call", "error", "start", "part"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_in_one_line_naming_the_argument(
    digits, call, error, start, part, tmp_path, monkeypatch
) -> None:
    model, x, y = digits
    monkeypatch.chdir(tmp_path)
    assert_refused(lambda: call(model, x, y), model, error, start, part, tmp_path)


@pytest.mark.parametrize(
    ("net", "error", "start", "part"), [c[1:] for c in FOREIGN], ids=[c[0] for c in FOREIGN]
)
@pytest.mark.parametrize("door", ["attack", "evaluate"])
def test_a_foreign_network_that_cannot_be_attacked_is_refused_in_one_line(
    digits, net, error, start, part, door, tmp_path, monkeypatch
) -> None:
    """The same line from both doors; the data are ``x`` for attack, ``data`` for evaluate."""
    _, x, y = digits
    model = net()
    monkeypatch.chdir(tmp_path)

    def call() -> Any:
        if door == "attack":
            return snnattack.attack(model, x, y, T=2, steps=1)
        return snnattack.evaluate(model, (x, y), T=2, methods=["fgsm"], masking=False)

    data = "x" if door == "attack" else "data"
    start, part = start.format(data=data), part.format(data=data)
    assert_refused(call, model, error, start, part, tmp_path)


def test_gradient_parameters_are_fitted_to_the_network_each_box_differentiates(
    digits, tmp_path, monkeypatch
) -> None:
    """A black-box row differentiates the source alone: gamma=3 fits the source's leak 0.75
    (LIFNode(tau=4)) and runs, though not the target's 0.5 (it was refused for the target's);
    the same gamma on a source of leak 0.5 is refused before any work as the source's."""
    _, x, y = digits
    monkeypatch.chdir(tmp_path)
    target, fitting = spikingjelly_net(), spikingjelly_net()
    fitting[1].tau = 4.0  # leak 1 - 1/tau = 0.75: RGA's curve takes gamma < 4
    rga = {"grad_mode": "rga", "grad_params": {"gamma": 3.0}, "T": 2, "masking": False}
    record = snnattack.evaluate(
        target, (x, y), methods=["fgsm"], boxes=["black"], source=fitting, **rga
    )
    assert [r.box for r in record.results] == ["black"]
    with pytest.raises(ConfigError) as refused:
        snnattack.evaluate(fitting, (x, y), methods=["fgsm"], boxes=["black"], source=target, **rga)
    assert "grad_params['gamma']=3 gives a rate of 1.5 >= 1" in str(refused.value)
    assert "(the source's) for grad_mode=rga; accepted: gamma < 2" in str(refused.value)


@pytest.mark.parametrize("door", ["attack", "evaluate"])
def test_gradient_parameters_that_do_not_fit_the_networks_own_neurons_are_refused_first(
    digits, door, tmp_path, monkeypatch, capsys
) -> None:
    """RGA's gamma=50 has no curve at the leak 0.5 of spikingjelly's LIFNode(tau=2). The
    refusal came from inside the attack (evaluate's progress bar had started), naming
    ``gamma=50``, not the argument that set it; it now comes before any work, in the call's
    words."""
    _, x, y = digits
    model = spikingjelly_net()
    monkeypatch.chdir(tmp_path)
    rga = {"grad_mode": "rga", "grad_params": {"gamma": 50}, "T": 2}

    def call() -> Any:
        if door == "attack":
            return snnattack.attack(model, x, y, steps=1, **rga)
        return snnattack.evaluate(model, (x, y), methods=["fgsm"], masking=False, **rga)

    start = "RGA on the spiking layer 1 (LIFNode): grad_params['gamma']=50 gives a rate of 25 >= 1"
    part = "starts for grad_mode=rga; accepted: gamma < 2 (1 / ((1 - lambda) theta))"
    assert_refused(call, model, ConfigError, start, part, tmp_path)
    shown = capsys.readouterr()
    assert "fgsm" not in shown.out + shown.err  # no attack's progress began


class OwnLoop(nn.Module):
    """A user's class with spikingjelly neurons that repeats the images over 2 steps itself:
    its form is decided by running it on samples (:mod:`snnattack.interop.probe`)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = spikingjelly_net()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(0).repeat(2, 1, 1, 1, 1)).mean(0)


# (id, call of (model, x, y), the start of the line): samples that do not read
UNREAD = [
    ("x numpy", lambda m, x, y: snnattack.attack(m, x.numpy(), y, T=2), "x=ndarray"),
    ("x list", lambda m, x, y: snnattack.attack(m, x.tolist(), y, T=2), "x=list"),
    (
        "data numpy",
        evaluate(lambda m, x, y: (x.numpy(), y.numpy()), T=2),
        "data[0]=ndarray",
    ),
    (
        "data of dicts",
        evaluate(lambda m, x, y: DataLoader([{"image": x[0], "label": y[0]}]), T=2),
        "data: its batches are a dict of 2 items",
    ),
    ("data a bare tensor", evaluate(lambda m, x, y: x, T=2), "data=Tensor"),
    # empty: the probe broke on a pair (a traceback), and the adapter refused a data set
    ("data empty pair", evaluate(lambda m, x, y: (x[:0], y[:0]), T=2), "data[0] is empty"),
    (
        "data empty data set",
        evaluate(lambda m, x, y: TensorDataset(x[:0], y[:0]), T=2),
        "data is empty (0 images)",
    ),
    (
        "data empty loader",
        evaluate(lambda m, x, y: DataLoader(TensorDataset(x[:0], y[:0]), batch_size=4), T=2),
        "data is empty (0 images)",
    ),
    ("x empty", lambda m, x, y: snnattack.attack(m, x[:0], y[:0], T=2), "x is empty"),
]


@pytest.mark.parametrize(("call", "start"), [c[1:] for c in UNREAD], ids=[c[0] for c in UNREAD])
def test_samples_that_do_not_read_are_refused_naming_them_before_a_form_is_probed(
    digits, call, start, caplog
) -> None:
    """A network whose form its samples decide, given samples that are no tensors or data
    that do not read, is refused by the input checks' line naming ``x`` or ``data``; it was
    refused by the adapter's ``interop: whether OwnLoop makes its time steps itself is
    decided by running it once on samples, and none were given; accepted: adapt(...)``,
    which named neither, and a bare tensor of images was probed first (a warning that the
    class fits neither form)."""
    _, x, y = digits
    model = OwnLoop().eval()
    with pytest.raises(UserError) as err, caplog.at_level(logging.WARNING):
        call(model, x, y)
    assert str(err.value).startswith(start), str(err.value)
    assert "accepted" in str(err.value) and "interop" not in caplog.text


def test_images_without_a_channel_axis_are_named_as_the_cause(digits) -> None:
    """Digits ``[B, 8, 8]`` (the channel axis forgotten) on a class that repeats its images over
    T itself: the network returns no batch axis, which the refusal blamed on the network's
    output alone (``returns [10] for one image of x (shape [1, 8, 8])``)."""
    _, x, y = digits
    with pytest.raises(UserError) as err:
        snnattack.attack(OwnLoop().eval(), x[:, 0], y, T=2)
    assert str(err.value).startswith(
        "model=OwnLoop returns [10] for one image of x (shape [1, 8, 8]); its images are [8, 8], "
        "without a channel axis: images [B, C, H, W] (x.unsqueeze(1)); accepted: logits [B, K]"
    ), str(err.value)


def test_legal_neighbours_run(digits) -> None:
    """Inputs that require grad, ``T`` equal to the model's, overrides as a tuple, labels of a
    Dataset of ``(image, int)`` items, images exactly 0 and 1: attacked as they are."""
    model, x, y = digits
    x = x.clone()
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0.0, 1.0
    adv = snnattack.attack(model, x.requires_grad_(True), y, T=4, steps=2, overrides=())
    assert not adv.requires_grad and (adv - x).abs().max() <= 8 / 255 + 1e-6
    items = [(x[i].detach(), int(y[i])) for i in range(16)]
    record = snnattack.evaluate(
        model,
        DataLoader(items, batch_size=8),
        methods=["fgsm"],
        masking=False,
        overrides=("eval_batch_size=8",),
    )
    assert record.n == 16
    # T and the seed as a config or an array gives them: NumPy integers
    torch.manual_seed(0)
    numpy_typed = snnattack.attack(spikingjelly_net(), x.detach(), y, T=np.int64(2), steps=1)
    torch.manual_seed(0)
    assert torch.equal(
        numpy_typed, snnattack.attack(spikingjelly_net(), x.detach(), y, T=2, steps=1)
    )


@pytest.mark.parametrize("n", [16, 2], ids=["16 items", "two items, not an (x, y) pair"])
def test_a_list_of_image_label_items_is_a_data_set(digits, n: int) -> None:
    """A plain list of ``(image, int label)`` items, which a DataLoader takes as its data set,
    is evaluated as that DataLoader is (it was refused: ``data=list is not a data set``)."""
    model, x, y = digits
    items = [(x[i], int(y[i])) for i in range(n)]
    records = [
        snnattack.evaluate(model, data, methods=["fgsm"], masking=False, progress=False)
        for data in (items, DataLoader(items, batch_size=8), tuple(items))
    ]
    assert records[0].n == n
    rates = [(r.clean_acc, [(row.adv_acc, row.linf) for row in r.results]) for r in records]
    assert rates[0] == rates[1] == rates[2]


def test_a_list_of_batches_is_the_data_set_of_their_images(digits) -> None:
    """``[(x, y) for x, y in loader]``, a list of ``(images, labels)`` batches, is evaluated as
    the pair of all their images and labels is (it was read as two items and refused as labels
    of shape [2, 8]); a list of batches of one stays a list of items (the image ``[1, ...]``)."""
    model, x, y = digits
    batches = [(x[:8], y[:8]), (x[8:15], y[8:15]), (x[15:16], y[15:16])]
    records = [
        snnattack.evaluate(model, data, methods=["fgsm"], masking=False, progress=False)
        for data in (batches, (x[:16], y[:16]))
    ]
    assert records[0].n == 16
    rates = [(r.clean_acc, [(row.adv_acc, row.linf) for row in r.results]) for r in records]
    assert rates[0] == rates[1]
    with pytest.raises(UserError, match=r"has shape \[2, 1\]; accepted: class indices"):
        snnattack.evaluate(model, [(x[:1], y[:1]), (x[1:2], y[1:2])], methods=["fgsm"])


def test_a_nested_gradient_mode_on_the_same_model_is_refused_and_the_outer_block_goes_on(
    digits,
) -> None:
    """The inner block would leave a gradient of neither mode; it is refused before it runs,
    the outer mode still holds inside its block and the model is restored after it."""
    model, x, y = digits

    def grad() -> torch.Tensor:
        z = x[:4].clone().requires_grad_(True)
        F.cross_entropy(model(z), y[:4]).backward()
        return z.grad

    plain, ran = grad(), []
    with snnattack.gradient_mode(model, "rga"):
        outer = grad()
        with pytest.raises(UserError) as err:
            with snnattack.gradient_mode(model, "hart"):
                ran.append(True)
        assert torch.equal(grad(), outer)
    assert ran == [] and "\n" not in str(err.value)
    assert str(err.value).startswith(
        "gradient_mode(snnattack.models.base.SpikingNet, 'hart') inside its "
        "gradient_mode 'rga' block"
    )
    assert "accepted: one gradient_mode block per model at a time" in str(err.value)
    assert not torch.equal(outer, plain) and torch.equal(grad(), plain)
    with snnattack.gradient_mode(model, "hart"):  # one after the other: each its own
        assert not torch.equal(grad(), plain)


@pytest.mark.parametrize("call", ["attack", "evaluate"])
def test_an_attack_inside_a_gradient_mode_block_on_its_model_is_refused(digits, call) -> None:
    """Its attacked copy took the block's gradient (or a mix), whatever grad_mode it asked."""
    model, x, y = digits
    with snnattack.gradient_mode(model, "rga"), pytest.raises(UserError) as err:
        if call == "attack":
            snnattack.attack(model, x[:4], y[:4], "fgsm", grad_mode="stbp")
        else:
            snnattack.evaluate(model, (x[:4], y[:4]), methods=["fgsm"], progress=False)
    assert str(err.value).startswith(
        "snnattack.models.base.SpikingNet is attacked inside its gradient_mode 'rga' block"
    )
    after = snnattack.attack(model, x[:4], y[:4], "fgsm", grad_mode="stbp")  # outside: runs
    assert after.shape == x[:4].shape


def test_gradient_mode_blocks_nest_on_two_models(digits) -> None:
    model, _, _ = digits
    other = copy.deepcopy(model)
    with snnattack.gradient_mode(model, "rga"), snnattack.gradient_mode(other, "hart") as m:
        assert m is other


def test_a_block_left_by_an_exception_lets_the_next_block_run(digits) -> None:
    model, _, _ = digits
    with pytest.raises(KeyError):
        with snnattack.gradient_mode(model, "rga"):
            raise KeyError("the user's loop failed")
    with snnattack.gradient_mode(model, "hart") as m:
        assert m is model


def test_val_data_sharing_a_few_images_with_the_test_data_is_taken(digits) -> None:
    """A dataset's own duplicates across its splits: one image of four (three times among
    six, each copy counted once) is not a test split."""
    model, x, y = digits
    val = (torch.cat([x[:1], x[:1], x[:1], x[1:4] * 0.5]), y[:6])
    record = snnattack.evaluate(
        model, (x[:16], y[:16]), methods=["fgsm"], masking=False, val_data=val, tune=True
    )
    assert record.n == 16


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_a_batchs_values_are_read_exactly_in_any_floating_dtype(dtype: torch.dtype) -> None:
    """The images' lowest and highest value, read with other values in one host sync (as
    float64), are their own: half-precision images are judged and named as they are."""
    x, y = torch.zeros(2, 1, 8, 8, dtype=dtype), torch.zeros(2, dtype=torch.long)
    assert check_batch(x, y)[0] is not x  # accepted, detached
    x[1, 0, 3, 3] = 1.5
    with pytest.raises(UserError, match=re.escape("x holds values in [0, 1.5]; accepted")):
        check_batch(x, y)


def test_labels_are_read_as_the_exact_integers_they_are() -> None:
    """The labels' range, read with the images' values (as float64) where the model's classes
    are known, names the label as given."""
    x, y = torch.rand(2, 1, 8, 8), torch.tensor([0, 2**40 + 1])
    with pytest.raises(UserError, match=f"y holds the label {2**40 + 1}, out of range for"):
        check_attack(nn.Identity(), nn.Identity(), x, y, classes=10)
