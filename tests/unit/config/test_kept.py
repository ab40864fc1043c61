"""What is read of a kept (read-only) config is read once while it lives, and never of a
config that may change."""

import gc

import pytest
from omegaconf import OmegaConf

from snnattack.config import kept
from snnattack.config.kept import read_once
from snnattack.config.spelling import spelt


def counted_reads(cfg, what: str = "tree") -> tuple[list[object], list[int]]:
    """``read_once`` of ``cfg`` twice, and how many times it read."""
    reads: list[int] = []

    def read() -> list[int]:
        reads.append(1)
        return [cfg.a]

    return [read_once(cfg, what, read) for _ in range(2)], reads


def test_a_kept_config_is_read_once_and_each_what_apart() -> None:
    cfg = OmegaConf.create({"a": 1})
    OmegaConf.set_readonly(cfg, True)
    (first, again), reads = counted_reads(cfg)
    assert reads == [1] and first is again
    _, reads = counted_reads(cfg, "other")
    assert reads == [1]


def test_a_config_that_may_change_is_read_at_every_call() -> None:
    """A job's config (validation spells its numbers in it) is read afresh: a stale read would
    be of a config changed since."""
    cfg = OmegaConf.create({"a": 1})
    (first, again), reads = counted_reads(cfg)
    assert reads == [1, 1] and first == again and first is not again
    cfg.a = 2
    assert counted_reads(cfg)[0][0] == [2]


def test_what_was_read_of_a_config_goes_with_it() -> None:
    """No read is kept for a config no one holds: its id may be a later config's."""
    cfg = OmegaConf.create({"a": 1})
    OmegaConf.set_readonly(cfg, True)
    counted_reads(cfg)
    key = (id(cfg), "tree")
    assert key in kept._READ
    del cfg
    gc.collect()
    assert key not in kept._READ


def test_a_kept_config_is_read_again_in_another_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its interpolations read the environment (``store.dir: ${oc.env:SNNATTACK_STORE,models}``):
    a variable set between two calls is read as a fresh preparation read it."""
    cfg = OmegaConf.create({"store": "${oc.env:SNNATTACK_STORE,models}"})
    OmegaConf.set_readonly(cfg, True)
    monkeypatch.delenv("SNNATTACK_STORE", raising=False)
    assert spelt(cfg) == {"store": "models"}
    monkeypatch.setenv("SNNATTACK_STORE", "elsewhere")
    assert spelt(cfg) == {"store": "elsewhere"}


def test_a_kept_configs_spelt_tree_is_the_callers_own() -> None:
    """A kept config's tree is resolved once, each caller given a copy it may change."""
    cfg = OmegaConf.create({"lambda": 1, "nested": {"x": "${lambda}"}})
    OmegaConf.set_readonly(cfg, True)
    mine = spelt(cfg)
    mine["nested"]["x"] = 5
    assert spelt(cfg) == {"lambda": 1, "nested": {"x": 1}}


def test_a_variable_no_interpolation_reads_leaves_the_read_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A preparation made afresh inside a call reads the config while the call's own
    variables are set (cuBLAS's workspace, for its deterministic kernels): read again only
    where a variable its interpolations read changed."""
    cfg = OmegaConf.create({"a": 1, "store": "${oc.env:SNNATTACK_STORE,models}"})
    OmegaConf.set_readonly(cfg, True)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return cfg.a

    read_once(cfg, "tree", read)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    read_once(cfg, "tree", read)
    assert reads == [1]
    monkeypatch.setenv("SNNATTACK_STORE", "elsewhere")
    read_once(cfg, "tree", read)
    assert reads == [1, 1]


def test_a_variable_named_by_an_interpolation_compares_the_whole_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``${oc.env:${name}}`` reads a variable no text names: every variable is compared."""
    cfg = OmegaConf.create({"name": "HOME", "home": "${oc.env:${name}}"})
    OmegaConf.set_readonly(cfg, True)
    reads: list[int] = []
    read_once(cfg, "tree", lambda: reads.append(1))
    monkeypatch.setenv("SNNATTACK_ANY", "1")
    read_once(cfg, "tree", lambda: reads.append(1))
    assert reads == [1, 1]
