"""ANN -> SNN conversion (``train.kind=conversion``) by activation-percentile normalisation.

The method of Rueckauer et al., *Conversion of Continuous-Valued Deep Networks to Efficient
Event-Driven Networks for Image Classification* (Front. Neurosci. 2017), "robust
normalisation": on a few training batches, each ReLU layer's scale ``s_l`` is the
``train.conversion.percentile``-th percentile (99.9 by default) of its non-zero activations
(as snntoolbox does). The ANN's weights are copied into the SNN and rescaled so that each
spiking layer's firing rate approximates its ANN activation divided by ``s_l``: the weights
of a conv/linear layer fed by spikes are multiplied by their layer's scale, and the affine
layers just before each LIF (the BN, or the conv/linear itself) are divided by
``s_l / theta``. The read-out keeps the ANN's units, so the T-averaged logits approach the
ANN's as T grows. Soft reset (subtract θ) keeps the residual charge and converts best; it is
the default reset of the conversion and hybrid kinds (``train.resets``).

Residual networks (Hu et al., *Spiking Deep Residual Networks*, IEEE TNNLS 2021): both
branches of a block are rescaled from the block's input scale and divided by the output
layer's. An identity shortcut adds the input spikes unscaled, so a block with one shares its
output scale with its input layer (one percentile over both layers' activations) and needs
``theta = 1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snnattack.data import datamodule
from snnattack.settings import ROLES, ModelSettings
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import StepWise
from snnattack.training.base import Strategy, register
from snnattack.training.classifier import COST_KEYS
from snnattack.training.fit import TrainContext, Trained

MAX_SAMPLES = 1 << 24  # activations per layer kept for the percentile (a random subsample)
_PASS = (nn.Sequential, StepWise, nn.AvgPool2d, nn.Flatten, nn.Identity, nn.Dropout)
BLOCK_CHILDREN = ("residual", "shortcut", "spike")  # what a residual block converts by
# a converted model's record: the training batches its thresholds were calibrated on (fewer
# than train.conversion.batches where the training data hold fewer)
CALIBRATION = "calibration_batches"


def residual_block(m: nn.Module) -> bool:
    """Whether ``m`` is a residual block, ``spike(residual(x) + shortcut(x))``, by what it
    holds: any module with the children ``residual`` (the main branch, ending in an affine
    layer), ``shortcut`` (``nn.Identity``, or a branch ending in an affine layer) and
    ``spike`` (the neuron layer fed by the sum) converts (e.g. ``models.resnet.BasicBlock``).
    Not a ``runtime_checkable`` Protocol: its ``isinstance`` misses an ``nn.Module``'s
    submodules (Python 3.12+)."""
    return all(isinstance(getattr(m, name, None), nn.Module) for name in BLOCK_CHILDREN)


def spiking_layers(model: nn.Module) -> list[nn.Module]:
    """The model's neuron layers (LIF, or ReLU in its ANN counterpart) in forward order."""
    return [m for m in model.modules() if isinstance(m, LIF | nn.ReLU)]


def shared_scales(model: nn.Module) -> list[int]:
    """For each neuron layer, the first layer it shares its scale with (itself if none).

    An identity shortcut adds a block's input spikes to its output current as they are, so
    the block's output layer must have its input layer's scale.
    """
    index = {id(m): i for i, m in enumerate(spiking_layers(model))}
    group, last = list(range(len(index))), None
    for m in model.modules():
        if id(m) in index:
            last = index[id(m)]
        elif residual_block(m) and isinstance(m.shortcut, nn.Identity):
            if last is None:
                raise ValueError("convert: a residual block without a spiking layer before it")
            group[index[id(m.spike)]] = group[last]
    return group


def unconvertible(model: nn.Module) -> str | None:
    """The class name of the first layer of ``model``'s body that :func:`convert` cannot
    rescale (WRN-16-4's pre-activation blocks), or None where every layer converts: asked
    before any work (:mod:`snnattack.training.checks`), not after the ANN has trained."""

    def first(m: nn.Module) -> str | None:
        if residual_block(m):
            return first(m.residual) or first(m.shortcut) or first(m.spike)
        if isinstance(m, nn.Conv2d | nn.Linear | nn.modules.batchnorm._BatchNorm | LIF):
            return None
        if not isinstance(m, _PASS):
            return type(m).__name__
        return next((name for child in m.children() if (name := first(child))), None)

    return first(getattr(model, "body", model))


@torch.no_grad()
def activation_scales(ann: nn.Module, images: Iterable[torch.Tensor], percentile: float) -> list:
    """The ``percentile``-th percentile of each ReLU layer's non-zero outputs over ``images``
    (pooled over the layers that share a scale, :func:`shared_scales`)."""
    relus = spiking_layers(ann)
    seen: list[list[torch.Tensor]] = [[] for _ in relus]
    hooks = [
        r.register_forward_hook(lambda _m, _i, out, i=i: seen[i].append(out[out > 0].flatten()))
        for i, r in enumerate(relus)
    ]
    was_training = ann.training
    ann.eval()
    try:
        for x in images:
            ann(x)
    finally:
        for h in hooks:
            h.remove()
        ann.train(was_training)
    generator = torch.Generator().manual_seed(0)
    groups = shared_scales(ann)
    scale: dict[int, float] = {}
    for g in dict.fromkeys(groups):
        v = torch.cat([t for i, values in enumerate(seen) if groups[i] == g for t in values])
        if v.numel() == 0:
            scale[g] = 1.0  # a dead layer: any scale works
            continue
        if v.numel() > MAX_SAMPLES:
            v = v[torch.randperm(v.numel(), generator=generator)[:MAX_SAMPLES]]
        k = max(1, min(v.numel(), round(percentile / 100.0 * v.numel())))
        scale[g] = float(v.kthvalue(k).values)
    return [scale[g] for g in groups]


def _rescale(
    m: nn.Module, previous: float, pending: list[nn.Module], scales: Iterator[float]
) -> tuple[float, list[nn.Module]]:
    """Rescales ``m`` fed by values of scale ``previous`` (1: the ANN's units); returns the
    scale of its output and the affine layers still to be divided by the next LIF's scale."""
    if residual_block(m):
        _, residual = _rescale(m.residual, previous, [], scales)
        _, shortcut = _rescale(m.shortcut, previous, [], scales)
        return _rescale(m.spike, 1.0, residual + shortcut, scales)
    if isinstance(m, nn.Conv2d | nn.Linear):
        m.weight.mul_(previous)
        return 1.0, [m]
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return previous, [m]
    if isinstance(m, LIF):
        scale = next(scales)
        if not pending:
            raise ValueError("convert: a LIF without an affine layer before it")
        for affine in pending:
            affine.weight.div_(scale / m.theta)
            if affine.bias is not None:
                affine.bias.div_(scale / m.theta)
        return scale, []
    if not isinstance(m, _PASS):
        raise ValueError(
            f"convert: {type(m).__name__} is not supported; accepted: models of "
            "conv/linear/BN/pooling/LIF layers and residual blocks"
        )
    for child in m.children():
        previous, pending = _rescale(child, previous, pending, scales)
    return previous, pending


@torch.no_grad()
def convert(ann: nn.Module, snn: nn.Module, scales: list[float]) -> nn.Module:
    """Copies ``ann``'s weights into ``snn`` (same layers, LIF for ReLU) and rescales them."""
    layers = spiking_layers(snn)
    if len(layers) != len(scales):
        raise ValueError(f"convert: {len(scales)} ANN layers but {len(layers)} spiking layers")
    groups = shared_scales(snn)
    if any(scales[i] != scales[g] for i, g in enumerate(groups)):
        raise ValueError("convert: layers joined by an identity shortcut need one scale")
    if any(g != i and layers[i].theta != 1.0 for i, g in enumerate(groups)):
        raise ValueError("convert: identity shortcuts carry unit spikes; accepted: theta=1")
    snn.load_state_dict(ann.state_dict(), strict=True)
    _rescale(snn.body, 1.0, [], iter(scales))
    return snn


@register
class Conversion(Strategy):
    """The SNN converted from the ANN of the same seed (trained first if the store lacks it).

    No gradient training; the store key has the ANN's key and the conversion settings but
    not ``T``: one converted model is evaluated at any number of time steps.
    """

    name = "conversion"
    title = "converted SNN"
    order = 30
    blocks = ("conversion",)
    trains_at_T = False  # only its ANN is trained (one step)
    trains_ann = True

    base_train = {"kind": "ann"}

    def key(self, spec: dict[str, Any]) -> dict[str, Any]:
        neuron = {k: v for k, v in spec["neuron"].items() if k != "T"}
        return {**spec, "neuron": neuron}

    def train(self, model: ModelSettings, workdir: Path, ctx: TrainContext) -> Trained:
        """Converts the ANN (``ctx.base``) on the first ``train.conversion.batches`` training
        batches, or all of them where the data hold fewer: the record's
        ``calibration_batches`` says how many were read (:func:`calibration_notes`). A
        reset or leak that converts badly is a config note (``converted_neurons`` in
        :mod:`snnattack.training.checks`), said by every job of the model, not only this one."""
        ann, ann_record = ctx.base
        settings = model.train["conversion"]
        data = datamodule(replace(model.data, seed=ctx.seed))
        data.setup("fit")
        read = 0  # the batches the calibration reads

        def images() -> Iterator[torch.Tensor]:
            nonlocal read
            for x, _ in islice(data.train_dataloader(), settings["batches"]):
                read += 1
                yield x

        scales = activation_scales(ann, images(), settings["percentile"])
        net = convert(ann, self.build(model), scales)
        return net, {
            "seed": ctx.seed,
            "ann_val_acc": ann_record.get("val_acc"),
            "ann_key": ann_record.get("key"),
            "scales": scales,
            CALIBRATION: read,
            # its ANN's training is its cost (an adversary's too: train.adversary trains the
            # ANN); an ANN stored before the cost was recorded has none to carry
            **{k: ann_record[k] for k in COST_KEYS if k in ann_record},
        }


def calibration_notes(models: Mapping[str, Mapping[str, Any] | None]) -> list[str]:
    """A note where a model of the job (``models``: the records by role, ``target`` and
    ``source``, None where there is none) was converted on fewer training batches than its
    ``train.conversion.batches`` asked for (its record's ``calibration_batches``: a converted
    model's, and a hybrid model's of the conversion it started from): the data held no more,
    so every batch was read. The config says what the user set, the store key holds it (so
    ``batches=1000`` and ``batches=19`` are two keys of one calibration), and only the data
    tell how many batches there are, so the note comes from the record, once the model is
    trained or loaded: every job of such a model says it, not only the one that converted it.
    A record of before ``calibration_batches`` says nothing."""
    capped: dict[tuple[int, int, str], list[str]] = {}
    for role, record in models.items():
        read = (record or {}).get(CALIBRATION)
        spec = (record or {}).get("spec") or {}
        asked = ((spec.get("train") or {}).get("conversion") or {}).get("batches")
        if read is not None and asked is not None and read < asked:
            capped.setdefault((asked, read, record.get("kind", "")), []).append(ROLES[role])
    return [
        f"train.conversion.batches={asked} is more than the {read} batches the training data "
        f"hold: {' and '.join(whom)} (train.kind={kind}) {'was' if len(whom) == 1 else 'were'} "
        f"converted with thresholds calibrated on all {read} (the record's {CALIBRATION}), as "
        f"train.conversion.batches={read} calibrates them, though stored under "
        f"{'a key of its own' if len(whom) == 1 else 'keys of their own'}"
        for (asked, read, kind), whom in capped.items()
    ]
