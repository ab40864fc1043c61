"""Checks of the machine and the files a job needs, before any work.

The GPUs asked for, the model files to attack, the data files and the folders to write: each
check is a function of the resolved config in :data:`~snnattack.values.CHECKS`, after the
combinations (folders: :func:`writable`; a job's data files: :func:`data_files`; the model
files and the user's factory: :func:`built_models`, which returns what it built for the job).
The memory for the activations is checked beside the passes a job runs
(:mod:`snnattack.training.memory`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from snnattack.config.parse import model_settings
from snnattack.data import build_datamodule
from snnattack.errors import ConfigError
from snnattack.interop.external import check_external
from snnattack.snn.backend import set_backend
from snnattack.training.trained import Built, load_from_file
from snnattack.values import CHECKS, is_int


@CHECKS.register("devices_exist", order=18)
def _devices_exist(resolved: dict[str, Any]) -> None:
    trainer = resolved["trainer"]
    devices = trainer.get("devices")
    if trainer.get("accelerator") in ("gpu", "cuda"):
        have = torch.cuda.device_count()
        if have == 0:
            raise ConfigError(
                f"trainer.accelerator={trainer['accelerator']} but this machine has "
                "no GPU; accepted: trainer=cpu or trainer=default (auto)"
            )
        if is_int(devices) and devices > have:
            raise ConfigError(
                f"trainer.devices={devices} is more than this machine's {have} "
                f"GPUs; accepted: an integer in [1, {have}] (or trainer=cpu)"
            )


MODEL_FILES = ("checkpoint", "source_checkpoint")  # the config keys that name a model file


def built_models(resolved: dict[str, Any]) -> Built:
    """``checkpoint`` and ``source_checkpoint`` exist and load into the configured model (as
    the job loads them: the target's architecture), so that a bad file is refused before any
    model is trained; ``model=external``'s factory builds a network that runs
    (:func:`~snnattack.interop.external.check_external`). What they built is returned, for the
    job to use as it is (:class:`~snnattack.training.trained.Built`): each file is read once,
    the factory called once for the target."""
    paths = {key: resolved[key] for key in MODEL_FILES if resolved.get(key) is not None}
    for key, path in paths.items():
        if not Path(path).is_file():
            raise ConfigError(
                f"{key}={path!r} is not a file; accepted: null or the path of a "
                "model file (a store model.pt, a Lightning .ckpt or a reference "
                "state dict)"
            )
    model = model_settings(OmegaConf.create(resolved))
    loaded = {key: load_from_file(model, path, key) for key, path in paths.items()}
    target = loaded.get("checkpoint")
    net = check_external(resolved, None if target is None else target[0])
    external = None if net is None or target else set_backend(net, resolved["backend"])
    return Built(**loaded, external=external)


def device_exists(key: str, device: str) -> None:
    """Refuses a ``cuda`` or ``cuda:N`` device that this machine does not have (``auto`` and
    ``gpu`` fall back to the CPU)."""
    if not device.startswith("cuda"):
        return
    have = torch.cuda.device_count()
    if int(device.partition(":")[2] or 0) >= have:
        raise ConfigError(
            f"{key}={device} but this machine has {have} GPUs; accepted: "
            + (f"cuda:0 to cuda:{have - 1}, auto or cpu" if have else "auto or cpu")
        )


@CHECKS.register("analysis_devices_exist", order=19)
def _analysis_devices_exist(resolved: dict[str, Any]) -> None:
    for name, opts in (resolved.get("analysis") or {}).items():
        device_exists(f"analysis.{name}.device", str(opts.get("device", "auto")))


def data_files(resolved: dict[str, Any]) -> None:
    """The job's data files are where its datamodule reads them, with nothing foreign among
    them (``check_files``: N-MNIST, DVS-Gesture, CIFAR10-DVS), checked before the job writes
    anything. Only for a job: the Python API reads the user's data, never these files."""
    dataset = resolved["dataset"]
    build_datamodule(
        dataset["name"],
        resolved["train"]["batch_size"],
        resolved["eval_batch_size"],
        resolved["seed"],
        **(dataset.get("params") or {}),
    ).check_files()


def writable(path: Path, what: str, must_exist: bool = True) -> None:
    """Refuses a folder that cannot be written or, if absent, created.

    An existing folder with ``must_exist=False`` (the store) passes: a read-only store may
    hold every model a job needs.
    """
    probe = path
    while not must_exist and not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not must_exist and probe == path and path.is_dir():
        return
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        return
    raise ConfigError(
        f"{what}={str(path)!r} cannot be written ({probe} is not a folder this "
        "user can write); accepted: a writable folder"
    )
