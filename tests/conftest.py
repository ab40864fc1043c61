"""Shared test settings and fixtures; the plain functions behind them are in ``harness.py``.

Settings: one torch thread, W&B offline, every test seeded with 0, and the kinds' rules
declared as in every entrance (``snnattack.job`` imported, so
``snnattack.config.validation.validate`` runs in any test file alone), and each config file's
text parsed once per process (``harness.parse_yaml_once``: Hydra parses the same files in every
composition).

Fixtures (prefer these to a ``run.py`` child process, which costs ~6 s of imports):

- ``compose(*overrides, experiment=None, hydra=False)``: the job config Hydra composes from
  ``conf/`` (or ``experiments/EXPERIMENT.yaml`` on top of it).
- ``run_job(*overrides, out="out", store=None, env=None)``: one ``run.py`` job in this
  process into ``tmp_path/out``; returns its ``metrics.json``. Models come from the session's
  shared digits store unless ``store`` is given: pass ``store=tmp_path / "models"`` when the
  test looks at which models were trained or cached.
- ``cli(*args, env=None)``: ``python run.py ARGS`` in this process (``-m`` sweeps, callbacks,
  exit codes, stdout and stderr), in ``tmp_path``; returns a ``CompletedProcess``.
- ``determinism``: ``set_determinism`` for a test without an entrance, restored after it.
- ``lif_loops``: runs a test with the fused LIF's loops in the C kernel and on torch ops.
- ``digits_store``: the session's model store folder, shared by every test that only needs
  *a* trained model (a model is trained once per training spec, then read back).
- ``direct``, ``poisson``: the digits SNN from that store with direct (or Poisson) encoding,
  and its first 200 test images and labels, read once per test module.

For the process boundary itself (signals, DDP, launchers) use ``harness.run_py`` (a real child
process). Module-level code imports ``ROOT``, ``CONF``, ``QUICK``, ``compose`` from ``harness``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fixtures_digits
import harness
import pytest
import torch

import snnattack.job  # noqa: F401  the kinds declare their keys' rules on import

os.environ.setdefault("WANDB_MODE", "offline")
torch.set_num_threads(1)
harness.parse_yaml_once()


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``cuda``-marked test skips where torch sees no CUDA device (CI, laptops); on a GPU
    machine it runs with the rest (``python -m tools.gpu_check`` runs them by themselves)."""
    if item.get_closest_marker("cuda") is not None and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (torch.cuda.is_available() is False)")


@pytest.fixture
def determinism() -> Iterator[Callable[[bool], None]]:
    """``set_determinism``, as an entrance calls it, for a test that trains or attacks without
    one; torch's flags and cuBLAS's workspace variable are restored afterwards."""
    from snnattack.process.numerics import CUBLAS_WORKSPACE, deterministic, set_determinism

    on, benchmark = deterministic(), torch.backends.cudnn.benchmark
    workspace = os.environ.get(CUBLAS_WORKSPACE[0])
    yield set_determinism
    set_determinism(on)
    torch.backends.cudnn.benchmark = benchmark
    os.environ.pop(CUBLAS_WORKSPACE[0], None)
    if workspace is not None:
        os.environ[CUBLAS_WORKSPACE[0]] = workspace


@pytest.fixture(params=["kernel", "torch ops"])
def lif_loops(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test runs twice: the fused LIF's loops in the C kernel, then on torch ops, as
    where no C compiler is found (the kernel library reads as not built)."""
    from snnattack.cpu import native

    if request.param == "kernel" and native.c_compiler() is None:
        pytest.skip("no C compiler on this machine ($CC or cc): the kernel cannot be built")
    if request.param == "torch ops":
        monkeypatch.setattr(native, "built", lambda: None)
    yield request.param


@pytest.fixture
def interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Triton's interpreter on (``TRITON_INTERPRET``, read at each call): the Triton kernels
    and the GPU's convolution take the CPU, the rest of the suite runs without it."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.fixture
def compose() -> Callable[..., Any]:
    return harness.compose


@pytest.fixture(scope="session")
def digits_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the whole run: under pytest-xdist the workers share it (the store trains
    each model once under its file lock, as for parallel jobs of a sweep)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return tmp_path_factory.mktemp("digits_store")
    shared = tmp_path_factory.getbasetemp().parent / "digits_store"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="module")
def direct(digits_store: Path) -> tuple[Any, torch.Tensor, torch.Tensor]:
    return fixtures_digits.trained(digits_store)


@pytest.fixture(scope="module")
def poisson(digits_store: Path) -> tuple[Any, torch.Tensor, torch.Tensor]:
    return fixtures_digits.trained(digits_store, "encoding=poisson")


@pytest.fixture
def run_job(tmp_path: Path, digits_store: Path) -> Callable[..., dict[str, Any]]:
    def run(
        *overrides: str, out: str = "out", store: Path | None = None, env: dict | None = None
    ) -> dict[str, Any]:
        return harness.run_job(
            *overrides, output_dir=tmp_path / out, store=store or digits_store, env=env
        )

    return run


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Any]:
    def run(*args: str, env: dict | None = None) -> Any:
        return harness.cli(*args, cwd=tmp_path, env=env)

    return run


def pytest_report_header() -> str:
    """The torch stack in one line: whether torch, torchvision and torchaudio fit together
    (a mismatch names the packages and the fix instead of failing some test's imports)."""
    from snnattack.package import installed_version, torch_stack_problem

    problem = torch_stack_problem()
    if problem is not None:
        return problem
    found = (f"{name} {installed_version(name)}" for name in ("torch", "torchvision", "torchaudio"))
    return f"the torch stack fits together: {', '.join(found)}"
