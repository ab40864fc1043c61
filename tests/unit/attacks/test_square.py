"""The lean Square attack gives torchattacks' examples and queries, draw for draw."""

from __future__ import annotations

from pathlib import Path

import torch
import torchattacks
from fixtures_digits import trained
from torch import nn

from snnattack.attacks.crafting import counting_queries
from snnattack.attacks.methods.square import Square


def queried(attack: torchattacks.Attack, model: nn.Module, x, y) -> tuple[torch.Tensor, int]:
    """``attack``'s examples of ``x`` and the samples it passed through ``model``."""
    with counting_queries(model) as queries:
        adv = attack(x, y)
    return adv, queries[0]


def test_square_equals_torchattacks_on_a_trained_digits_snn(digits_store: Path):
    model, x, y = trained(digits_store)
    x, y = x[:16], y[:16]
    settings = {"norm": "Linf", "eps": 24 / 255, "n_queries": 100, "n_restarts": 2}
    ours, our_queries = queried(Square(model, **settings), model, x, y)
    theirs, their_queries = queried(torchattacks.Square(model, **settings), model, x, y)
    assert torch.equal(ours, theirs)
    assert our_queries == their_queries
    fooled = (model(ours).argmax(1) != y).sum()
    assert 0 < fooled < len(y)  # some fooled and some robust: both branches compared


def test_square_equals_torchattacks_on_colour_images():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 9 * 9, 5))
    x, y = torch.rand(12, 3, 11, 11), torch.randint(0, 5, (12,))
    settings = {"norm": "Linf", "eps": 8 / 255, "n_queries": 200}
    ours, our_queries = queried(Square(model, **settings), model, x, y)
    theirs, their_queries = queried(torchattacks.Square(model, **settings), model, x, y)
    assert torch.equal(ours, theirs)
    assert our_queries == their_queries
    assert not torch.equal(ours, x)
