"""TF32 on CUDA off unless ``tf32=true``, deterministic kernels unless ``deterministic=false``,
and ``metrics.json`` (and the Lightning Trainer) agreeing with what held."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from harness import QUICK

from snnattack.process.numerics import (
    CUBLAS_WORKSPACE,
    deterministic,
    held,
    lightning_deterministic,
    set_tf32,
    tf32_allowed,
)
from snnattack.training.fit import lightning_trainer

FLAGS = (torch.backends.cuda.matmul, torch.backends.cudnn)
QUICK_JOB = [*QUICK, "boxes=[white]", "trainer.limit_test_batches=1"]


@pytest.fixture
def flags_restored() -> Iterator[None]:
    saved = [flags.allow_tf32 for flags in FLAGS]
    yield
    for flags, value in zip(FLAGS, saved, strict=True):
        flags.allow_tf32 = value


@pytest.mark.parametrize("allowed", [False, True])
def test_the_tf32_key_sets_torchs_flags_and_metrics_json_records_it(
    run_job, flags_restored: None, allowed: bool
) -> None:
    set_tf32(not allowed)
    metrics = run_job(*QUICK_JOB, *([] if not allowed else ["tf32=true"]))
    assert [flags.allow_tf32 for flags in FLAGS] == [allowed, allowed]
    assert tf32_allowed() is allowed
    assert metrics["tf32"] is allowed
    assert metrics["config"]["tf32"] is allowed


@pytest.mark.parametrize("on", [True, False])
def test_the_deterministic_key_sets_torchs_flags_and_metrics_json_records_it(
    run_job, determinism: Callable[[bool], None], tmp_path: Path, on: bool
) -> None:
    determinism(not on)
    setting = [] if on else ["deterministic=false"]
    metrics = run_job(*QUICK_JOB, *setting, store=tmp_path / "models")  # trained here
    assert torch.are_deterministic_algorithms_enabled() is on
    assert torch.is_deterministic_algorithms_warn_only_enabled() is on
    assert torch.backends.cudnn.benchmark is not on
    assert torch.utils.deterministic.fill_uninitialized_memory is False  # no NaN fill's cost
    assert metrics["deterministic"] is on and metrics["config"]["deterministic"] is on
    assert metrics["models"]["target"]["deterministic"] is on  # the training record's too


@pytest.mark.parametrize("on", [True, False])
def test_a_lightning_trainer_keeps_the_processs_determinism(
    determinism: Callable[[bool], None], on: bool
) -> None:
    determinism(on)
    lightning_trainer({"accelerator": "cpu", "logger": False, "enable_checkpointing": False})
    assert deterministic() is on and lightning_deterministic() == ("warn" if on else False)
    assert torch.is_deterministic_algorithms_warn_only_enabled() is on
    assert torch.backends.cudnn.benchmark is not on
    assert torch.utils.deterministic.fill_uninitialized_memory is False


def test_determinism_sets_cublass_workspace_and_keeps_the_environments(
    determinism: Callable[[bool], None],
) -> None:
    os.environ.pop(CUBLAS_WORKSPACE[0], None)
    determinism(False)
    assert CUBLAS_WORKSPACE[0] not in os.environ
    determinism(True)
    assert os.environ[CUBLAS_WORKSPACE[0]] == ":4096:8"
    os.environ[CUBLAS_WORKSPACE[0]] = ":16:8"  # cuBLAS's other reproducible setting
    determinism(True)
    assert os.environ[CUBLAS_WORKSPACE[0]] == ":16:8"


@pytest.mark.parametrize("config", [(False, True), (True, False)])
def test_held_numerics_hold_in_the_block_and_the_processs_own_after_it_even_on_an_error(
    flags_restored: None, determinism: Callable[[bool], None], config: tuple[bool, bool]
) -> None:
    tf32, on = config
    set_tf32(not tf32)
    determinism(not on)
    torch.backends.cudnn.benchmark = False  # also the user's choice, whatever ``on`` sets
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with pytest.raises(KeyboardInterrupt), held(tf32, on):
        assert (tf32_allowed(), deterministic()) == (tf32, on)
        assert torch.backends.cudnn.benchmark is not on
        raise KeyboardInterrupt
    assert (tf32_allowed(), deterministic(), torch.backends.cudnn.benchmark) == (
        not tf32,
        not on,
        False,
    )
    assert torch.is_deterministic_algorithms_warn_only_enabled() is warn_only


# a process's TF32 as PyTorch 2.9 and later let a user allow it: the precision Lightning's own
# message on an Ampere GPU recommends, the global per-operation setting, cuBLAS's own
USERS_TF32 = {
    "medium": lambda: torch.set_float32_matmul_precision("medium"),
    "global": lambda: setattr(torch.backends, "fp32_precision", "tf32"),
    "matmul": lambda: setattr(torch.backends.cuda.matmul, "fp32_precision", "tf32"),
}
# every per-operation setting, parents first
PRECISIONS = (
    torch.backends,
    torch.backends.cudnn,
    torch.backends.cuda.matmul,
    torch.backends.cudnn.conv,
    torch.backends.cudnn.rnn,
    torch.backends.mkldnn,
    torch.backends.mkldnn.matmul,
    torch.backends.mkldnn.conv,
    torch.backends.mkldnn.rnn,
)
CUDA_PRECISIONS = PRECISIONS[2:5]  # cuBLAS's matmuls, cuDNN's convolutions and RNNs
CPU_PRECISIONS = PRECISIONS[6:]  # oneDNN's matmuls, convolutions and RNNs


def legacy_precision() -> str:
    """``torch.get_float32_matmul_precision()``, or ``unreadable`` where torch refuses it (a
    mix of its two APIs)."""
    try:
        return torch.get_float32_matmul_precision()
    except RuntimeError:
        return "unreadable"


def torchs_start() -> None:
    """torch's TF32 settings as a process starts: the legacy ones (``highest``; cuDNN's flag
    on), and each per-operation setting left to its parent but cuDNN's convolutions and RNNs
    (``tf32``); set by (backend, operation), as ``torch.backends.mkldnn.fp32_precision`` sets
    the global one."""
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = True
    for pair in (("generic", "all"), ("cuda", "all"), ("mkldnn", "all")):
        torch._C._set_fp32_precision_setter(*pair, "none")
    for op in ("matmul", "conv", "rnn"):
        torch._C._set_fp32_precision_setter("cuda", op, "tf32" if op != "matmul" else "none")
        torch._C._set_fp32_precision_setter("mkldnn", op, "none")


@pytest.fixture
def precisions_restored() -> Iterator[None]:
    """torch's legacy TF32 settings as before the test after it, and the per-operation ones
    as torch starts but those each legacy setter sets."""
    matmul, cudnn = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    yield
    torchs_start()
    torch.set_float32_matmul_precision(matmul)
    torch.backends.cudnn.allow_tf32 = cudnn


@pytest.mark.parametrize("user", list(USERS_TF32))
def test_held_numerics_forbid_tf32_a_user_allowed_through_torchs_newer_settings(
    precisions_restored: None, determinism: Callable[[bool], None], user: str
) -> None:
    """A call (``held``) in a process that allowed TF32 through PyTorch's per-operation
    settings: torch refused to read the legacy flags there ("mix of the legacy and new APIs"),
    so the call failed, or (``medium``) left ``torch.get_float32_matmul_precision()``
    unreadable within the call, where Lightning reads it on a GPU, and after it. Now TF32 is off
    for every CUDA operation within, both APIs read it, and the user's settings are back."""
    USERS_TF32[user]()
    before = [owner.fp32_precision for owner in PRECISIONS], legacy_precision()
    with held(False, True):
        assert [owner.fp32_precision for owner in CUDA_PRECISIONS] == ["ieee"] * 3
        assert tf32_allowed() is False
        assert torch.get_float32_matmul_precision() == "highest"
        assert torch.backends.cudnn.allow_tf32 is False
    assert ([owner.fp32_precision for owner in PRECISIONS], legacy_precision()) == before
    with held(True, True):
        assert [owner.fp32_precision for owner in CUDA_PRECISIONS] == ["tf32"] * 3
        assert tf32_allowed() is True
        assert torch.get_float32_matmul_precision() == "high"
    assert ([owner.fp32_precision for owner in PRECISIONS], legacy_precision()) == before


@pytest.mark.parametrize("tf32", [False, True])
def test_held_numerics_compute_the_cpus_float32_in_float32_where_a_process_chose_bf16(
    precisions_restored: None, determinism: Callable[[bool], None], tf32: bool
) -> None:
    """A process that set ``torch.backends.fp32_precision = "bf16"`` (oneDNN then runs CPU
    convolutions and matmuls in bfloat16 where the CPU has the units for it) ran a job's
    attacks and training in that precision, whatever ``tf32`` said: within the call oneDNN
    computes in float32, and the process's setting is back after it."""
    torch.backends.fp32_precision = "bf16"
    before = [owner.fp32_precision for owner in PRECISIONS]
    with held(tf32, True):
        assert [owner.fp32_precision for owner in CPU_PRECISIONS] == ["ieee"] * 3
    assert [owner.fp32_precision for owner in PRECISIONS] == before


# a process's per-operation settings, then a later change of a parent: the global bf16 a user
# turns off again, the global TF32 turned off, oneDNN's matmuls set apart from the global one
LATER = {
    "bf16 then ieee": (("generic", "bf16"), ("generic", "ieee")),
    "tf32 then ieee": (("generic", "tf32"), ("generic", "ieee")),
    "oneDNN's matmuls bf16, then tf32": (("mkldnn.matmul", "bf16"), ("generic", "tf32")),
    "cuDNN ieee, then its convolutions none": (("cudnn", "ieee"), ("cudnn.conv", "none")),
}


@pytest.mark.parametrize("case", list(LATER))
def test_held_numerics_leave_each_setting_to_its_parent_as_they_found_it(
    precisions_restored: None, determinism: Callable[[bool], None], case: str
) -> None:
    """torch reads a per-operation setting left to its parent (as most are when a process
    starts) back as the parent's value. A call set it to that value, so a later change of the
    parent no longer reached it: after one ``snnattack.evaluate`` in a process that had chosen
    ``bf16``, ``torch.backends.fp32_precision = "ieee"`` left oneDNN's matmuls, convolutions
    and RNNs in bfloat16. Now each is put back as it was set: the same later change gives the
    same settings with a call between as without."""
    owners = {"generic": torch.backends, "mkldnn.matmul": torch.backends.mkldnn.matmul}
    owners |= {"cudnn": torch.backends.cudnn, "cudnn.conv": torch.backends.cudnn.conv}

    def settings_after(call: bool) -> tuple[list[str], str]:
        torchs_start()
        for name, value in LATER[case]:
            if call and name == LATER[case][1][0]:
                with held(False, True):
                    pass
            owners[name].fp32_precision = value
        return [owner.fp32_precision for owner in PRECISIONS], legacy_precision()

    assert settings_after(call=True) == settings_after(call=False)


def test_lightnings_check_of_an_ampere_gpu_reads_a_calls_numerics(
    precisions_restored: None, determinism: Callable[[bool], None], monkeypatch
) -> None:
    """The GPU path this guards, imitated: Lightning's CUDA accelerator reads the legacy
    matmul precision when it sets up an Ampere or later device. A user who had followed its
    advice (``medium``) got a RuntimeError there from ``snnattack.evaluate`` on a GPU."""
    from lightning.fabric.accelerators import cuda

    torch.set_float32_matmul_precision("medium")
    with held(False, True), monkeypatch.context() as gpu:
        gpu.setattr(torch.cuda, "is_available", lambda: True)
        gpu.setattr(torch.cuda, "get_device_name", lambda device=None: "an Ampere GPU")
        gpu.setattr(cuda, "_is_ampere_or_later", lambda device=None: True)
        cuda._check_cuda_matmul_precision(torch.device("cuda", 0))  # reads "highest"
        assert torch.get_float32_matmul_precision() == "highest"
    assert torch.get_float32_matmul_precision() == "medium"
