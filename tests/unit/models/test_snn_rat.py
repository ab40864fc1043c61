"""Checkpoints of the SNN-RAT code family (``putshua/SNN-RAT``, ``models/``): their state dicts
load strictly into the native models and give the logits of their own forward.

The classes below reproduce that family's module names and forward (``layers.py``:
``LIFSpike`` on ``[T * B, ...]`` tensors with ``ExpandTemporalDim`` / ``MergeTemporalDim``;
``VGG.py``'s ``layer1..5`` and ``classifier``; ``WideResNet.py``'s pre-activation blocks with a
``ConvexCombination``), written here from their code: their files are what a user brings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from harness import compose, job_checks
from torch import nn

import snnattack
from snnattack.errors import CheckpointError, UserError
from snnattack.models import build
from snnattack.models.reference import namings
from snnattack.records.checkpoints import REFERENCE_MEAN, REFERENCE_STD, load_model_file


class LIFSpike(nn.Module):
    """Their neuron: ``mem = mem * tau + x; spike = (mem - thresh >= 0); mem = (1 - spike) mem``
    over the T steps of a ``[T * B, ...]`` tensor (``ExpandTemporalDim`` layout, t-major)."""

    def __init__(self, T: int, thresh: float, tau: float) -> None:
        super().__init__()
        self.T, self.thresh, self.tau = T, thresh, tau

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(self.T, x.shape[0] // self.T, *x.shape[1:])  # ExpandTemporalDim
        mem, spikes = 0.0, []
        for t in range(self.T):
            mem = mem * self.tau + x[t]
            spike = (mem - self.thresh >= 0).to(x.dtype)  # ZIF's forward
            mem = (1 - spike) * mem
            spikes.append(spike)
        return torch.stack(spikes).flatten(0, 1)  # MergeTemporalDim


def repeat_over_time(x: torch.Tensor, T: int) -> torch.Tensor:
    """Their ``add_dimention`` then ``MergeTemporalDim``: ``[B, ...]`` -> ``[T * B, ...]``."""
    return x.unsqueeze(1).repeat(T, 1, 1, 1, 1).flatten(0, 1)


class TheirVGG(nn.Module):
    """``VGG.py``'s VGG with a digits-sized layer list ``[[16, 'A'], [32, 'A'], [], [], []]``
    and a one-layer classifier; the convs carry a bias, as theirs do."""

    def __init__(self, T: int, thresh: float, tau: float, widths=(16, 32)) -> None:
        super().__init__()
        self.T, self.mean, self.std = T, torch.tensor([0.305]), torch.tensor([0.376])
        channels, stages = 1, []
        for width in widths:
            stages.append(
                nn.Sequential(
                    nn.Conv2d(channels, width, 3, padding=1),
                    nn.BatchNorm2d(width),
                    LIFSpike(T, thresh, tau),
                    nn.AvgPool2d(2),
                )
            )
            channels = width
        self.layer1, self.layer2 = stages
        self.layer3, self.layer4, self.layer5 = nn.Sequential(), nn.Sequential(), nn.Sequential()
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 2 * 2, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)
        out = repeat_over_time(x, self.T)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            out = layer(out)
        out = self.classifier(out)
        return out.view(self.T, -1, *out.shape[1:]).mean(0)  # their callers average over T


class TheirBlock(nn.Module):
    """``WideResNet.py``'s ``BasicBlock`` (dropout 0)."""

    def __init__(self, T: int, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.bn1, self.act1 = nn.BatchNorm2d(in_planes), LIFSpike(T, 1.0, 1.0)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2, self.act2 = nn.BatchNorm2d(out_planes), LIFSpike(T, 1.0, 1.0)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equal = in_planes == out_planes
        self.convShortcut = None if self.equal else nn.Conv2d(in_planes, out_planes, 1, stride)
        if self.convShortcut is not None:
            self.convShortcut.bias = None
        self.convex = nn.Module()
        self.convex.comb = nn.Parameter(torch.ones(2) / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.equal:
            x = self.act1(self.bn1(x))
            out = x
        else:
            out = self.act1(self.bn1(x))
        out = self.conv2(self.act2(self.bn2(self.conv1(out))))
        shortcut = x if self.equal else self.convShortcut(x)
        return 0.0 + shortcut * self.convex.comb[0] + out * self.convex.comb[1]


def their_group(T: int, in_planes: int, out_planes: int, stride: int) -> nn.Sequential:
    """``WideResNet._make_layer``: the group's blocks in an ``nn.Sequential``."""
    return nn.Sequential(
        TheirBlock(T, in_planes, out_planes, stride), TheirBlock(T, out_planes, out_planes, 1)
    )


class TheirWRN(nn.Module):
    """``WideResNet("wrn16", T, 10, norm)``: depth 16, widen factor 4."""

    def __init__(self, T: int) -> None:
        super().__init__()
        self.T = T
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.block1 = their_group(T, 16, 64, 1)
        self.block2 = their_group(T, 64, 128, 2)
        self.block3 = their_group(T, 128, 256, 2)
        self.bn1, self.act = nn.BatchNorm2d(256), LIFSpike(T, 1.0, 1.0)
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = torch.tensor(REFERENCE_MEAN), torch.tensor(REFERENCE_STD)
        x = (x - mean.view(1, -1, 1, 1).to(x)) / std.view(1, -1, 1, 1).to(x)
        out = self.conv1(repeat_over_time(x, self.T))
        for group in (self.block1, self.block2, self.block3):
            out = group(out)
        out = F.avg_pool2d(self.act(self.bn1(out)), 8).view(-1, 256)
        return self.fc(out.view(self.T, -1, 256)).mean(0)


def randomised(model: nn.Module) -> nn.Module:
    """``model`` in float64 and eval mode, with BN statistics and shifts that make neurons fire."""
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.8, 1.6)
            m.bias.data.uniform_(0.2, 0.8)
        elif isinstance(m, nn.Conv2d | nn.Linear) and m.bias is not None:
            m.bias.data.uniform_(-0.5, 0.5)
    return model.double().eval()


def shuffled(state: dict[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
    """``state`` with its keys in a random order (a file's order carries no meaning)."""
    order = torch.randperm(len(state), generator=torch.Generator().manual_seed(seed)).tolist()
    keys = list(state)
    return {keys[i]: state[keys[i]] for i in order}


def their_vgg_file(tmp_path: Path, order=lambda state: state) -> tuple[nn.Module, Path]:
    """Their digits-sized VGG (τ = 0.5, thresh = 0.75, T = 3) and its file, keys in ``order``."""
    theirs = randomised(TheirVGG(3, 0.75, 0.5))
    torch.save(order(theirs.state_dict()), tmp_path / "vgg.pth")
    return theirs, tmp_path / "vgg.pth"


def load_digits(path: Path) -> nn.Module:
    return snnattack.load(
        "digits_net", path, T=3, lam=0.5, theta=0.75, in_channels=1, mean=[0.305], std=[0.376]
    )


def their_wrn() -> nn.Module:
    theirs = randomised(TheirWRN(T=2))
    for block in theirs.modules():
        if isinstance(block, TheirBlock):
            block.convex.comb.data.uniform_(0.3, 0.9)
    return theirs


def load_wrn(path: Path) -> nn.Module:
    return snnattack.load("wrn16_4", path, T=2, lam=1.0, theta=1.0, mean=[0.5] * 3, std=[0.25] * 3)


def assert_same_logits(theirs: nn.Module, ours: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        expected, got = theirs(x), ours.double()(x)
    assert expected.std(0).sum() > 0  # the logits depend on the input: spikes reach the read-out
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "order",
    [lambda state: state, shuffled, lambda state: dict(sorted(state.items()))],
    ids=["their order", "shuffled", "sorted"],
)
def test_a_vgg_of_their_naming_loads_by_name_and_gives_their_logits(tmp_path: Path, order) -> None:
    theirs, path = their_vgg_file(tmp_path, order)
    ours = load_digits(path)
    assert not ours.training and ours.T == 3
    assert_same_logits(theirs, ours, torch.rand(16, 1, 8, 8, dtype=torch.float64))


def test_their_wide_resnet_loads_by_name_into_wrn16_4_and_gives_their_logits(
    tmp_path: Path,
) -> None:
    theirs = their_wrn()
    state = {f"module.{k}": v for k, v in theirs.state_dict().items()}
    torch.save(shuffled(state), tmp_path / "wrn.pth")
    ours = load_wrn(tmp_path / "wrn.pth")
    assert ours.normalize.std.flatten().tolist() == pytest.approx(REFERENCE_STD)
    assert_same_logits(theirs, ours, torch.rand(4, 3, 32, 32, dtype=torch.float64))
    cfg = compose("model=wrn16_4", "dataset=cifar10", f"checkpoint={tmp_path / 'wrn.pth'}")
    loaded, _ = job_checks(cfg).checkpoint  # a job accepts the file: model=wrn16_4 checkpoint=...
    weights = dict(loaded.named_parameters())
    for name, value in ours.named_parameters():
        torch.testing.assert_close(weights[name].to(value.dtype), value, rtol=0, atol=0)


def test_two_same_shape_convolutions_stored_in_the_other_order_load_into_their_own_layers(
    tmp_path: Path,
) -> None:
    """The same names and tensors, block1.1's conv2 stored before its conv1 (both 64x64x3x3):
    each goes to the layer its name says. (Mapped by order, as before issue 38, each went into
    the other's layer and this model's float64 logits were off by up to 0.042.)"""
    state = their_wrn().float().state_dict()
    keys = list(state)
    a, b = keys.index("block1.1.conv1.weight"), keys.index("block1.1.conv2.weight")
    keys[a], keys[b] = keys[b], keys[a]
    torch.save({k: state[k] for k in keys}, tmp_path / "swapped.pth")
    block = load_wrn(tmp_path / "swapped.pth").body[1][1]
    assert torch.equal(block.conv1.module.weight, state["block1.1.conv1.weight"])
    assert torch.equal(block.conv2.module.weight, state["block1.1.conv2.weight"])
    assert not torch.equal(block.conv1.module.weight, block.conv2.module.weight)


def test_a_wrn_file_of_the_network_block_form_loads_by_its_names(tmp_path: Path) -> None:
    """The WRN code SNN-RAT derives from keeps a group's blocks in a ``NetworkBlock``'s
    ``layer`` (``block1.layer.0.conv1.weight``): the same tensors, under those names."""
    state = their_wrn().float().state_dict()
    renamed = {re.sub(r"^(block\d)\.", r"\1.layer.", k): v for k, v in state.items()}
    assert "block3.layer.1.convex.comb" in renamed
    torch.save(shuffled(renamed), tmp_path / "network_block.pth")
    ours = load_wrn(tmp_path / "network_block.pth").state_dict()
    assert torch.equal(ours["body.3.1.convex.comb"], state["block3.1.convex.comb"])
    assert torch.equal(
        ours["body.2.0.shortcut.module.weight"], state["block2.0.convShortcut.weight"]
    )


def test_a_wrn_file_with_a_renamed_prefix_or_a_missing_key_is_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    state = TheirWRN(2).state_dict()
    torch.save({f"net.{k}": v for k, v in state.items()}, tmp_path / "renamed.pth")
    with pytest.raises(UserError) as renamed:
        load_wrn(tmp_path / "renamed.pth")
    assert str(renamed.value) == (
        f"path={tmp_path / 'renamed.pth'}: reference key net.conv1.weight is not a name of "
        "SNN-RAT's WideResNet('wrn16') (its names are such as conv1.weight; a 'module.' "
        "prefix is allowed); accepted: a file of the configured architecture, classes and "
        "input channels"
    )
    del state["block2.0.bn2.running_var"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(
        UserError, match=r"missing\.pth: reference key block2\.0\.bn2\.running_var is missing"
    ):
        load_wrn(tmp_path / "missing.pth")


def test_a_file_of_their_family_that_does_not_fit_is_refused_naming_the_first_wrong_key(
    tmp_path: Path,
) -> None:
    torch.save(TheirVGG(2, 1.0, 1.0, widths=(16, 24)).state_dict(), tmp_path / "wide.pth")
    digits = build("digits_net", 10, in_channels=1, T=2)
    with pytest.raises(
        CheckpointError, match=r"reference key layer2\.0\.weight \(\(24, 16, 3, 3\)\)"
    ):
        load_model_file(tmp_path / "wide.pth", digits, namings=namings("digits_net", digits))
    torch.save(TheirWRN(2).state_dict(), tmp_path / "wrn.pth")
    vgg = build("vgg11", 10, in_channels=3, T=2)
    with pytest.raises(
        CheckpointError, match=r"^checkpoint=.*wrn\.pth: reference key conv1\.weight is not a name"
    ):
        load_model_file(tmp_path / "wrn.pth", vgg, namings=namings("vgg11", vgg))


@pytest.mark.parametrize("arch", ["digits_net", "dvs_vgg", "resnet17", "digits_resnet", "wrn16_4"])
def test_each_naming_names_every_layer_of_its_architecture_once(arch: str) -> None:
    """A naming is read off our modules: each layer with tensors gets one reference name, and
    each folded bias goes to one of those layers (vgg11 and vgg16: test_checkpoints.py)."""
    model = build(arch, 10, in_channels=2 if arch == "dvs_vgg" else 3, T=1)
    ours = {k.rpartition(".")[0] for k in model.state_dict() if not k.startswith("normalize.")}
    found = namings(arch, model)
    assert len(found) == (1 if "vgg" in arch or arch == "digits_net" else 2)
    for naming in found:
        assert sorted(naming.layers.values()) == sorted(ours)
        assert set(naming.folds.values()) <= ours
