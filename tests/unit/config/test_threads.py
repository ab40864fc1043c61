"""A job's torch threads fit its work: one for the digits datasets, the machine's cores else."""

from __future__ import annotations

import os

import pytest
from harness import compose

from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.process import distributed
from snnattack.process.distributed import thread_share
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key


def test_digits_jobs_take_one_thread_and_other_datasets_the_cores() -> None:
    digits, cifar = compose(), compose("dataset=cifar10", "model=vgg11")
    assert digits.threads == 1
    assert cifar.threads == "auto"
    cores = len(os.sched_getaffinity(0))
    assert thread_share(cifar.threads, cifar.trainer) == cores
    assert compose("threads=auto").threads == "auto"  # the user's choice wins


def test_the_datasets_threads_change_no_store_key() -> None:
    assert store_key(model_settings(compose("dataset.threads=auto")), 0) == store_key(
        model_settings(compose()), 0
    )


@pytest.mark.parametrize("key", ["threads", "dataset.threads"])
def test_a_bad_thread_count_is_refused_naming_its_key(key: str) -> None:
    accepted = r"accepted: an integer in \[1, 4096\], or auto$"
    with pytest.raises(ConfigError, match=rf"^{key}=0 is out of range; {accepted}"):
        validate(compose(f"{key}=0"))


@pytest.mark.parametrize(
    "launcher,threads",
    [
        ({}, 16),
        ({"n_jobs": 2}, 8),  # joblib: its jobs run at once
        ({"n_jobs": -1}, 1),  # one job per core
        ({"cpus_per_task": 1, "gpus_per_node": 1}, 1),  # submitit's local executor: all at once
        ({"cpus_per_task": 8}, 8),
    ],
)
def test_auto_threads_share_the_cores_with_the_jobs_a_launcher_runs_at_once(
    monkeypatch: pytest.MonkeyPatch, launcher: dict, threads: int
) -> None:
    class Hydra:
        @staticmethod
        def initialized() -> bool:
            return True

        @staticmethod
        def get() -> object:
            return type("HydraCfg", (), {"launcher": launcher})

    monkeypatch.setattr(distributed, "HydraConfig", Hydra)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)))
    assert thread_share("auto", compose().trainer) == threads
