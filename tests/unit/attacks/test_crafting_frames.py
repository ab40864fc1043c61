"""Image attacks on event frames ``[B, T, C, H, W]``: torchattacks' APGD, Square and AutoAttack
assume ``[B, C, H, W]``, so crafting hands them ``T * C`` channels; elementwise attacks draw and
step exactly as on the frames."""

from __future__ import annotations

import lightning as L
import pytest
import torch
import torchattacks
from harness import compose

from snnattack.attacks.crafting import craft
from snnattack.settings import Recipe
from snnattack.training.parse import model_settings
from snnattack.training.trained import build_model

EPS = 16 / 255


@pytest.fixture(scope="module")
def frames_net() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """An untrained digits_net on binary event frames, 8 frames and their labels."""
    L.seed_everything(0, verbose=False)
    model = build_model(model_settings(compose("dataset=digits_events"))).eval()
    x = (torch.rand(8, 4, 2, 8, 8) < 0.2).float()
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("apgd", {"steps": 3}),
        ("apgd", {"steps": 3, "loss": "dlr"}),
        ("square", {"n_queries": 20}),
        pytest.param("autoattack", {"n_classes": 10}, marks=pytest.mark.slow),  # 5 s
    ],
)
def test_an_image_attack_on_frames_returns_frames_within_eps(frames_net, method, params) -> None:
    model, x, y = frames_net
    adv, queries = craft(method, model, x, y, EPS, params, Recipe("stbp"))
    assert not model.training  # handed back in eval mode, as it came
    assert adv.shape == x.shape
    assert (adv - x).abs().max() <= EPS + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    assert queries > 0


def test_pgd_on_frames_as_channels_equals_pgd_on_the_frames(frames_net) -> None:
    model, x, y = frames_net
    torch.manual_seed(3)
    adv, _ = craft("pgd", model, x, y, EPS, {}, Recipe("stbp"))
    torch.manual_seed(3)
    with torch.enable_grad():
        direct = torchattacks.PGD(model, eps=EPS, alpha=EPS / 3.1, steps=7)(x, y)
    torch.testing.assert_close(adv, direct, rtol=0, atol=0)
