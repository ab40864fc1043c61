"""A model's shapes without its memory: the model built on PyTorch's meta device, and the
elements of its layers' outputs for one sample, for the checks before any work (a model that
does not fit the dataset's input, the memory its activations need).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from snnattack.models.zoo import build


def input_shape(resolved: dict[str, Any]) -> tuple[int, ...]:
    """One sample as the model sees it, T = 1: ``[C, H, W]`` (``[1, C, H, W]`` for frames)."""
    d = resolved["dataset"]
    shape = (d["in_channels"], d["image_size"], d["image_size"])
    return (1, *shape) if resolved["encoding"] == "frames" else shape


def _build_settings(resolved: dict[str, Any]) -> dict[str, Any]:
    """The arguments that build a model as the config ``resolved`` does, T = 1, as plain
    values (mean and std as tuples)."""
    d = resolved["dataset"]
    mean, std = d.get("mean"), d.get("std")
    return {
        "num_classes": d["num_classes"],
        "in_channels": d["in_channels"],
        "T": 1,
        "lam": resolved["lambda"],
        "theta": resolved["theta"],
        "reset": resolved["reset"],
        "encoding": resolved["encoding"],
        "mean": None if mean is None else tuple(mean),
        "std": None if std is None else tuple(std),
    }


def _on_meta(name: str, settings: dict[str, Any]) -> torch.nn.Module:
    with torch.device("meta"):
        return build(name, **settings).eval()


def meta_model(resolved: dict[str, Any], name: str) -> torch.nn.Module:
    """The model without memory (PyTorch's meta device), T = 1: for shapes only."""
    return _on_meta(name, _build_settings(resolved))


def outputs_per_step(resolved: dict[str, Any], name: str) -> int | None:
    """:func:`layer_outputs` of the model ``name`` as the config ``resolved`` builds it, on its
    input (:func:`input_shape`); None if it does not take that input. Kept per setting: every
    validation asks, in two checks (the model fits the dataset, its activations the memory)."""
    settings = tuple(_build_settings(resolved).items())
    return _counted(name, settings, input_shape(resolved))


@cache
def _counted(name: str, settings: tuple, shape: tuple[int, ...]) -> int | None:
    return layer_outputs(_on_meta(name, dict(settings)), shape)


def layer_outputs(model: torch.nn.Module, shape: tuple[int, ...]) -> int | None:
    """Elements of every layer's output for one sample and one time step; None if it fails."""
    total = 0

    def count(_m: torch.nn.Module, _i: Any, out: Any) -> None:
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    try:
        failed = forward_error(model, shape)
    finally:
        for h in hooks:
            h.remove()
    return None if failed is not None else total


def forward_error(model: torch.nn.Module, shape: tuple[int, ...]) -> str | None:
    """The first line of the error of ``model``'s forward of one sample of ``shape`` on the
    meta device; None if it runs."""
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape, device="meta"))
    except (RuntimeError, ValueError) as err:
        return (str(err).strip() or type(err).__name__).splitlines()[0]
    return None


def misfit(resolved: dict[str, Any], name: str) -> str:
    """The config's input and why the model ``name`` does not take it (its forward's error):
    what a model's author needs where a model of theirs does not fit."""
    shape = input_shape(resolved)
    why = forward_error(meta_model(resolved, name), shape)
    return f"input {'x'.join(map(str, shape[-3:]))}" + (f": {why.rstrip('.')}" if why else "")
