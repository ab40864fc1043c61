"""Threat models kept apart (issue 48): every method's threat model comes from what its
registration declares, and an ensemble whose components do not share one (``pgd``, L∞ on the
frames, with ``sda``, events flipped) is refused in one line from the command line and from
``snnattack.attack``; components of one threat model still pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from external_nets import digits_net
from harness import compose

import snnattack
from snnattack.attacks.methods import METHODS
from snnattack.config.validation import validate
from snnattack.errors import ConfigError

MIXED = "method.ensemble.components=[{attack:stbp,method:pgd},{attack:stbp,method:sda}]"
LINE = (
    "method.ensemble.components mixes threat models (L∞ on the inputs: pgd/stbp; events "
    "flipped in the frames: sda/stbp); accepted: components of one threat model (each other "
    "threat model as its own method= row)"
)


def test_each_method_declares_its_threat_model_at_its_registration() -> None:
    threats = {name: method.threat({}) for name, method in METHODS.items()}
    assert threats["pgd"] == threats["square"] == threats["apgd"] == "L∞ on the inputs"
    assert threats["sda"] == threats["sparsefool"] == "events flipped in the frames"
    assert threats["retime"] == "events moved in time (linf budget)"  # its default norm
    assert METHODS["retime"].threat({"norm": "l1"}) == "events moved in time (l1 budget)"
    assert threats["gsattack"] == "changes to the raw recordings"


def test_retiming_under_two_budgets_is_two_threat_models() -> None:
    with pytest.raises(ConfigError) as err:
        validate(
            compose(
                "dataset=digits_events",
                "dataset.params.event_encoding=binary",
                "method=[ensemble]",
                "method.ensemble.components=[{attack:stbp,method:retime},"
                "{attack:stbp,method:retime_l1}]",
            )
        )
    assert str(err.value).startswith(
        "method.ensemble.components mixes threat models (events moved in time (linf budget): "
        "retime/stbp; events moved in time (l1 budget): retime_l1/stbp)"
    )


def test_an_ensemble_of_two_threat_models_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose("dataset=digits_events", "method=[ensemble]", MIXED))
    assert str(err.value) == LINE


def test_an_ensemble_of_one_threat_model_passes() -> None:
    validate(
        compose(
            "dataset=digits_events",
            "method=[ensemble]",
            "method.ensemble.components=[{attack:stbp,method:pgd},{method:square}]",
        )
    )


def test_the_command_line_refuses_it_with_exit_2_and_writes_nothing(
    cli: Callable, tmp_path: Path
) -> None:
    proc = cli("dataset=digits_events", "method=[ensemble]", MIXED, "hydra.run.dir=out")
    assert proc.returncode == 2 and proc.stderr == f"error: {LINE}\n", proc.stderr
    assert not (tmp_path / "out").exists()


def test_snnattack_attack_refuses_it_before_any_attack() -> None:
    model = digits_net()
    x, y = torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ConfigError) as err:
        snnattack.attack(model, x, y, "ensemble", T=4, overrides=["dataset=digits_events", MIXED])
    assert str(err.value) == LINE


def test_an_ensemble_of_an_attack_on_raw_recordings_is_refused_in_one_line(
    cli: Callable, tmp_path: Path
) -> None:
    """The ensemble crafts on the batch's frames and hands its components no recordings:
    GSAttack there stopped the job on a traceback (``it needs the batch's recordings``)."""
    gsattack = "method.ensemble.components=[{attack:stbp,method:gsattack}]"
    line = (
        "method.ensemble.components.gsattack/stbp=gsattack attacks the raw recordings, which "
        "an ensemble does not hand its components; accepted: method=[gsattack] as its own "
        "row, or a component on frames (gsattack_frames, its attack on binary frames)"
    )
    with pytest.raises(ConfigError) as err:
        validate(compose("dataset=digits_events", "method=[ensemble]", gsattack))
    assert str(err.value) == line
    proc = cli("dataset=digits_events", "method=[ensemble]", gsattack, "hydra.run.dir=out")
    assert proc.returncode == 2 and proc.stderr == f"error: {line}\n", proc.stderr
    x, y = torch.zeros(2, 4, 2, 8, 8), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ConfigError) as err:
        snnattack.attack(
            digits_net(), x, y, "ensemble", T=4, overrides=["dataset=digits_events", gsattack]
        )
    assert str(err.value) == line
    validate(  # its attack on frames passes
        compose(
            "dataset=digits_events",
            "dataset.params.event_encoding=binary",
            "method=[ensemble]",
            "method.ensemble.components=[{attack:stbp,method:gsattack_frames}]",
        )
    )
