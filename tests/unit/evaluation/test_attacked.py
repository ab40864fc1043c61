"""The models the attacks run (``evaluation/attacked.py``): copies of the trained models, BN
folded where ``attack.fold_bn`` asks, the trained ones left as they were."""

import torch
from torch import nn

from snnattack.evaluation.attacked import attacked_models
from snnattack.models import build

BN = nn.modules.batchnorm._BatchNorm


def _digits_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build("digits_net", num_classes=10, in_channels=1, T=2).double().eval()


def test_the_attacked_models_are_copies_and_folded_only_where_asked() -> None:
    target, source = _digits_net(0), _digits_net(1)
    weights = {k: v.clone() for k, v in target.state_dict().items()}
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    folded, folded_source = attacked_models(target, source, fold_bn=True, compiled=False)
    plain, none = attacked_models(target, None, fold_bn=False, compiled=False)
    assert none is None and folded is not target and folded_source is not source
    assert not any(isinstance(m, BN) for m in folded.modules())
    assert (
        sum(isinstance(m, BN) for m in plain.modules())
        == sum(isinstance(m, BN) for m in target.modules())
        > 0
    )
    torch.testing.assert_close(folded(x), target(x), rtol=1e-10, atol=1e-10)
    with torch.no_grad():
        next(plain.parameters()).add_(1.0)  # a copy: the trained model does not change
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in weights.items())
