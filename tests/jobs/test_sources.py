"""Black-box sources other than the target's twin: another λ, T or architecture, recorded in
every result row, and refused where they cannot work."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from harness import QUICK, compose

from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.records.results import JobRecord, job_table
from snnattack.training.parse import model_settings, source_config
from snnattack.training.store_key import store_key


def test_source_settings_change_only_the_source() -> None:
    cfg = compose(
        "dataset=cifar10", "model=vgg11", "source_model=vgg16", "source_lambda=0.5", "source_T=8"
    )
    source = source_config(cfg)
    assert (source.model.name, source["lambda"], source.T) == ("vgg16", 0.5, 8)
    assert (cfg.model.name, cfg["lambda"], cfg.T) == ("vgg11", 1.0, 4)
    assert source.trainer.max_epochs == cfg.train.epochs  # interpolations still resolve
    spec = store_key(model_settings(source), 1000)
    assert spec["model"]["name"] == "vgg16" and spec["neuron"]["lambda"] == 0.5
    assert source_config(compose()) is not None and store_key(
        model_settings(source_config(compose())), 0
    ) == store_key(model_settings(compose()), 0)


def test_a_protocols_surrogate_has_one_store_key_whatever_the_target() -> None:
    """The benchmark's standard surrogate (``source_model``, ``source_train: ann``) of a
    ``model=external`` target keeps none of its factory's settings (a weights file among
    them): it is trained once for every submission, not once per network."""
    surrogate = ("source_train=ann", "source_model=digits_net", "source_T=4", "T=4")

    def key(*target: str) -> dict:
        cfg = compose(*target, *surrogate)
        return store_key(model_settings(source_config(cfg)), 1000)

    external = ("model=external", "model.factory._target_=mine.make_net")
    assert key(*external, "+model.kwargs.weights=/my/sj.pt") == key(*external) == key()


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["source_model=vgg11"], "source_model=vgg11 does not fit dataset=digits"),
        (
            ["dataset=cifar10_dvs", "model=dvs_vgg", "source_T=4"],
            "source_T=4 has no meaning for encoding=frames",
        ),
        (["source_lambda=1.5"], "source_lambda=1.5 is out of range"),
        (["source_model=vgg12"], "source_model='vgg12' is unknown"),
    ],
)
def test_bad_source_settings_are_refused(overrides, message) -> None:
    with pytest.raises(ConfigError, match="^" + message):
        validate(compose(*overrides))


def test_a_source_at_another_leak_and_t_is_trained_and_recorded(run_job: Callable) -> None:
    m = run_job(*QUICK, "source_lambda=0.5", "source_T=6", "boxes=[black]")
    assert m["models"]["source"]["spec"]["neuron"]["lambda"] == 0.5
    assert m["models"]["source"]["spec"]["neuron"]["T"] == 6
    assert m["models"]["target"]["spec"]["neuron"]["lambda"] == 1.0
    (row,) = m["results"]
    assert (row["box"], row["source_lambda"], row["source_T"], row["source_model"]) == (
        "black",
        0.5,
        6,
        "digits_net",
    )


def test_an_ann_source_has_no_leak_and_no_time_steps_in_its_rows(run_job: Callable) -> None:
    """Its rows were labelled with the config's λ and T (a sweep over them, rows alike)."""
    m = run_job(*QUICK, "source_train=ann", "source_lambda=0.5", "boxes=[white,black]")
    white, black = m["results"]
    assert (black["source_kind"], black["source_lambda"], black["source_T"]) == ("ann", None, None)
    assert (white["source_kind"], white["source_lambda"], white["source_T"]) == ("stbp", 1.0, 4)


def test_an_ann_targets_title_names_no_neuron_setting(run_job: Callable) -> None:
    """An ANN target's results table was titled ``T=4 λ=1.0 reset=hard``, the config's values
    that it never reads (its store key leaves them out); the record now says which model spikes
    and the title names the ANN alone. The spiking source's λ and T stay its rows'."""
    m = run_job(*QUICK, "train.kind=ann", "source_train=stbp", "boxes=[white,black]")
    record = JobRecord.from_json(m)
    assert record.title() == f"digits / digits_net  ANN  clean acc {record.clean_acc:.2f}%"
    table = job_table(record)
    assert "ANN  clean acc" in table and not any(w in table for w in ("λ=", "T=", "reset="))
    target, source = m["models"]["target"], m["models"]["source"]
    assert (target.get("spiking"), source.get("spiking")) == (False, True)
    white, black = record.results
    assert (white.source_lambda, white.source_T) == (None, None)
    assert (black.source_kind, black.source_lambda, black.source_T) == ("stbp", 1.0, 4)


def test_a_spiking_targets_title_names_its_t_and_neurons(run_job: Callable) -> None:
    """An SNN target reads T, λ and reset: its title keeps them, and its record says it spikes."""
    m = run_job(*QUICK, "boxes=[white]")
    record = JobRecord.from_json(m)
    assert record.title() == (
        f"digits / digits_net  T=4 λ=1.0 reset=hard  clean acc {record.clean_acc:.2f}%"
    )
    assert m["models"]["target"].get("spiking") is True
