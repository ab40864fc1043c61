"""A universal row under DDP: every rank fits it (on the same batch and seed) and then attacks
with rank 0's fitted state, so the ranks' test batches see one perturbation."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from fixtures_event_nets import binary_digits_net

from snnattack.attacks import universal
from snnattack.attacks.universal import FITTED, fit_specs
from snnattack.settings import AttackSettings, AttackSpec, Recipe


def test_every_rank_attacks_with_rank_0s_fitted_state(monkeypatch: pytest.MonkeyPatch) -> None:
    model, x, y = binary_digits_net(24)
    sent: list[dict[str, torch.Tensor]] = []
    rank_0s: dict[str, torch.Tensor] = {}

    def agree(value: Any) -> Any:  # this rank's value sent; rank 0's received
        sent.append(value)
        rank_0s.update({k: torch.zeros_like(v) for k, v in value.items()})
        return rank_0s

    monkeypatch.setattr(universal, "agree", agree)
    spec = AttackSpec("event_patch_universal", 0.0, "white", {"area": 0.2, "epochs": 1})
    (fitted,) = fit_specs(AttackSettings(recipe=Recipe("stbp")), [spec], model, None, (x, y))
    assert len(sent) == 1 and all(v.device.type == "cpu" for v in sent[0].values())
    state = fitted.params[FITTED]
    assert state.keys() == sent[0].keys()
    assert any(not torch.equal(v, rank_0s[k]) for k, v in sent[0].items())  # told apart
    assert all(torch.equal(v, rank_0s[k]) for k, v in state.items())
