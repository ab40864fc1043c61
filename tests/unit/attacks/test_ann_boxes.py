"""Which boxes craft on an ANN, judged on the models (``ann_boxes``) and on the config
(``ann_boxes_of``): one convention, a box is named only where it runs and crafts on an ANN.
A box without a model (no source) or that the job does not run (``boxes``) is left out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from torch import nn

from snnattack.attacks.crafting import ann_boxes
from snnattack.snn.neurons import LIF
from snnattack.training.checks import ann_boxes_of


def _ann() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3))


def _snn() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3), LIF())


@pytest.mark.parametrize(
    ("target", "source", "boxes", "expected"),
    [
        (_snn, None, ["white"], set()),  # a spiking target and no source: no box on an ANN
        (_ann, None, ["white"], {"white"}),  # the black box has no model: not among them
        (_snn, _ann, ["white", "black"], {"black"}),
        (_ann, _ann, ["white", "black"], {"white", "black"}),
    ],
)
def test_a_box_is_among_the_ann_boxes_only_where_it_runs_and_crafts_on_an_ann(
    target: Callable[[], nn.Module],
    source: Callable[[], nn.Module] | None,
    boxes: list[str],
    expected: set[str],
) -> None:
    """``ann_boxes`` counted a box without a model (no source) among the ANN boxes, while
    ``ann_boxes_of`` left out a box the job does not run: both now leave it out, and agree
    on the same job (a config of the same kinds, its ``boxes`` those that have a model)."""
    crafters = {"white": target(), "black": None if source is None else source()}
    assert ann_boxes(crafters) == expected
    kind = {_ann: "ann", _snn: "stbp"}
    resolved = {
        "train": {"kind": kind[target]},
        "source_train": None if source is None else kind[source],
        "boxes": boxes,
    }
    assert ann_boxes_of(resolved) == expected
