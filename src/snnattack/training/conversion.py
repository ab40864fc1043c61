"""ANN -> SNN conversion (``train.kind=conversion``) by activation-percentile normalisation.

The method of Rueckauer et al., *Conversion of Continuous-Valued Deep Networks to Efficient
Event-Driven Networks for Image Classification* (Front. Neurosci. 2017), "robust
normalisation": on a few training batches, each ReLU layer's scale ``s_l`` is the
``train.conversion.percentile``-th percentile (99.9 by default) of its non-zero activations
(as snntoolbox does). The ANN's weights are copied into the SNN and rescaled so that each
spiking layer's firing rate approximates its ANN activation divided by ``s_l``:
the weights of a conv/linear layer are multiplied by the previous layer's scale, and the
affine layer just before each LIF (the BN, or the conv/linear itself) is divided by
``s_l / theta``. The read-out layer keeps its scale, so the T-averaged logits approach the
ANN's as T grows. Soft reset (subtract θ) keeps the residual charge and converts best:
the conversion experiment files set ``reset: soft``.

Only sequential bodies (conv/BN/pool/linear/LIF in a row: ``digits_net``, ``vgg11``,
``vgg16``) are converted; residual networks would need a shared scale at each addition.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from snnattack.neurons import LIF
from snnattack.temporal import StepWise
from snnattack.training.base import Strategy, TrainContext, Trained, with_train

log = logging.getLogger(__name__)

CONVERTIBLE_MODELS = ("digits_net", "vgg11", "vgg16")
MAX_SAMPLES = 1 << 24  # activations per layer kept for the percentile (a random subsample)
_PASS = (nn.Sequential, StepWise, nn.AvgPool2d, nn.Flatten, nn.Identity, nn.Dropout)
_AFFINE = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)


@torch.no_grad()
def activation_scales(ann: nn.Module, images: Iterable[torch.Tensor], percentile: float) -> list:
    """The ``percentile``-th percentile of each ReLU layer's non-zero outputs over ``images``."""
    relus = [m for m in ann.modules() if isinstance(m, nn.ReLU)]
    seen: list[list[torch.Tensor]] = [[] for _ in relus]
    hooks = [r.register_forward_hook(lambda _m, _i, out, i=i: seen[i].append(
        out[out > 0].flatten())) for i, r in enumerate(relus)]
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
    scales = []
    for values in seen:
        v = torch.cat(values)
        if v.numel() == 0:
            scales.append(1.0)  # a dead layer: any scale works
            continue
        if v.numel() > MAX_SAMPLES:
            v = v[torch.randperm(v.numel(), generator=generator)[:MAX_SAMPLES]]
        k = max(1, min(v.numel(), round(percentile / 100.0 * v.numel())))
        scales.append(float(v.kthvalue(k).values))
    return scales


@torch.no_grad()
def convert(ann: nn.Module, snn: nn.Module, scales: list[float]) -> nn.Module:
    """Copies ``ann``'s weights into ``snn`` (same layers, LIF for ReLU) and rescales them."""
    snn.load_state_dict(ann.state_dict(), strict=True)
    previous, last, layer = 1.0, None, 0
    for m in snn.body.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            m.weight.mul_(previous)
            last = m
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            last = m
        elif isinstance(m, LIF):
            if last is None or layer >= len(scales):
                raise ValueError("convert: a LIF without an affine layer before it or a scale")
            factor = scales[layer] / m.theta
            last.weight.div_(factor)
            if last.bias is not None:
                last.bias.div_(factor)
            previous, last, layer = scales[layer], None, layer + 1
        elif not isinstance(m, _PASS):
            raise ValueError(f"convert: {type(m).__name__} is not supported; only sequential "
                             f"models convert ({', '.join(CONVERTIBLE_MODELS)})")
    if layer != len(scales):
        raise ValueError(f"convert: {len(scales)} ANN layers but {layer} spiking layers")
    return snn


class Conversion(Strategy):
    """The SNN converted from the ANN of the same seed (trained first if the store lacks it).

    No gradient training; the store key has the ANN's key and the conversion settings but
    not ``T``: one converted model is evaluated at any number of time steps.
    """

    blocks = ("conversion",)

    def base(self, cfg: DictConfig) -> DictConfig:
        return with_train(cfg, kind="ann")

    def key(self, spec: dict[str, Any]) -> dict[str, Any]:
        neuron = {k: v for k, v in spec["neuron"].items() if k != "T"}
        return {**spec, "neuron": neuron}

    def train(self, cfg: DictConfig, workdir: Path, ctx: TrainContext) -> Trained:
        if cfg.reset != "soft":
            log.warning("converting with reset=%s; soft reset converts best (reset=soft)",
                        cfg.reset)
        ann, ann_record = ctx.trained(self.base(cfg))
        settings = cfg.train.conversion
        data = ctx.datamodule(cfg)
        data.setup("fit")
        loader = data.train_dataloader()
        images = (x for i, (x, _) in zip(range(settings.batches), loader, strict=False))
        scales = activation_scales(ann, images, settings.percentile)
        model = convert(ann, self.build(cfg), scales)
        return model, {"seed": ctx.seed, "ann_val_acc": ann_record.get("val_acc"),
                       "ann_key": ann_record.get("key"), "scales": scales}
