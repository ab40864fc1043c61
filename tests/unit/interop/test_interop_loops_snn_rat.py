"""Models of the SNN-RAT code family adapted as their users call them (snnattack.interop.loops,
snnattack.interop.snn_rat): their VGG's own forward (``add_dimention``, ``MergeTemporalDim``,
``LIFSpike``, ``ExpandTemporalDim``) gives their logits and, under ``stbp`` with their ZIF's
triangle, their input gradient; every gradient mode runs, the rate-domain one equal to the
layer-wise one; snnattack.evaluate takes their VGG object; a form the LIF cannot reproduce is
refused naming LIFSpike and the loader. The classes below are written from
``putshua/SNN-RAT``'s ``models/layers.py`` and ``models/VGG.py`` (float32, as their ZIF's
spikes are)."""

from __future__ import annotations

import pytest
import torch
from interop_oracle import MODES, T, images, relative, weighted_backward
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.gradients import gradient_mode
from snnattack.interop import adapt


class MergeTemporalDim(nn.Module):
    def __init__(self, T):
        super().__init__()
        self.T = T

    def forward(self, x_seq: torch.Tensor):
        return x_seq.flatten(0, 1).contiguous()


class ExpandTemporalDim(nn.Module):
    def __init__(self, T):
        super().__init__()
        self.T = T

    def forward(self, x_seq: torch.Tensor):
        y_shape = [self.T, int(x_seq.shape[0] / self.T)]
        y_shape.extend(x_seq.shape[1:])
        return x_seq.view(y_shape)


class ZIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, gama):
        out = (input >= 0).float()
        L = torch.tensor([gama])
        ctx.save_for_backward(input, out, L)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (input, out, others) = ctx.saved_tensors
        gama = others[0].item()
        grad_input = grad_output
        tmp = (1 / gama) * (1 / gama) * ((gama - input.abs()).clamp(min=0))
        grad_input = grad_input * tmp
        return grad_input, None


class LIFSpike(nn.Module):
    def __init__(self, T, thresh=1.0, tau=1.0, gama=1.0):
        super().__init__()
        self.act = ZIF.apply
        self.thresh = thresh
        self.tau = tau
        self.gama = gama
        self.expand = ExpandTemporalDim(T)
        self.merge = MergeTemporalDim(T)
        self.relu = nn.ReLU(inplace=True)
        self.mode = "bptt"
        self.T = T

    def forward(self, x):
        if self.T > 0:
            x = self.expand(x)
            mem = 0
            spike_pot = []
            for t in range(self.T):
                mem = mem * self.tau + x[t, ...]
                spike = self.act(mem - self.thresh, self.gama)
                mem = (1 - spike) * mem
                spike_pot.append(spike)
            x = torch.stack(spike_pot, dim=0)
            x = self.merge(x)
        else:
            x = self.relu(x)
        return x


def add_dimention(x, T):
    x.unsqueeze_(1)
    x = x.repeat(T, 1, 1, 1, 1)
    return x


class VGG(nn.Module):
    """Their VGG's structure and forward, with a digits-sized layer list."""

    def __init__(self, T, num_class, thresh=0.75, tau=0.5, gama=1.0):
        super().__init__()
        torch.manual_seed(0)
        self.T = T
        self.init_channels = 1
        spiking = dict(thresh=thresh, tau=tau, gama=gama)
        self.layer1 = self._make_layers([16, "A"], spiking)
        self.layer2 = self._make_layers([32, "A"], spiking)
        self.layer3, self.layer4, self.layer5 = nn.Sequential(), nn.Sequential(), nn.Sequential()
        hidden = [nn.Linear(32 * 2 * 2, 64), LIFSpike(T, **spiking)]
        self.classifier = nn.Sequential(nn.Flatten(), *hidden, nn.Linear(64, num_class))
        self.merge = MergeTemporalDim(T)
        self.expand = ExpandTemporalDim(T)
        with torch.no_grad():  # every layer spikes, and not always
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_var.uniform_(0.1, 0.3)
                    m.weight.uniform_(1.0, 2.5)
                    m.bias.uniform_(0.4, 1.4)
            self.classifier[1].weight.mul_(4.0)

    def _make_layers(self, cfg, spiking):
        layers = []
        for x in cfg:
            if x == "A":
                layers.append(nn.AvgPool2d(2))
            else:
                layers.append(nn.Conv2d(self.init_channels, x, kernel_size=3, padding=1))
                layers.append(nn.BatchNorm2d(x))
                layers.append(LIFSpike(self.T, **spiking))
                self.init_channels = x
        return nn.Sequential(*layers)

    def forward(self, input):
        if self.T > 0:
            input = add_dimention(input, self.T)
            input = self.merge(input)
        out = self.layer1(input)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = self.layer5(out)
        out = self.classifier(out)
        if self.T > 0:
            out = self.expand(out)
        return out


def their_logits(net: VGG, x: torch.Tensor) -> torch.Tensor:
    return net(x.clone()).mean(0)  # their callers average over T; add_dimention is in place


def gradient(model: nn.Module, mode: str, params: dict) -> torch.Tensor:
    x = images().float().requires_grad_(True)
    with gradient_mode(model, mode, **params):
        weighted_backward(model(x))
    return x.grad


def test_their_vgg_gives_their_logits_and_gradient() -> None:
    net = VGG(T, 10, gama=0.5).eval()
    adapted = adapt(net, T=T).eval()
    x = images().float()
    with torch.no_grad():
        logits = their_logits(net, x)
        assert 0.05 < logits.mean() < 0.95
        torch.testing.assert_close(adapted(x), logits, rtol=1e-6, atol=1e-6)
    x.requires_grad_(True)
    weighted_backward(their_logits(net, x))
    ours = gradient(adapted, "stbp", {})  # their ZIF: the triangle of half-width gama
    assert x.grad.abs().sum() > 0
    assert relative(ours, x.grad) <= 1e-6


@pytest.mark.parametrize("mode,params", MODES, ids=[f"{m}-{p}" for m, p in MODES])
def test_every_gradient_mode_runs(mode: str, params: dict) -> None:
    assert gradient(adapt(VGG(T, 10).eval(), T=T).eval(), mode, params).abs().sum() > 0


def test_the_rate_domain_pass_equals_the_layerwise_rate_gradient() -> None:
    adapted = adapt(VGG(T, 10).eval(), T=T).eval()
    rga, layerwise = gradient(adapted, "rga", {}), gradient(adapted, "rga_layerwise", {})
    assert relative(rga, layerwise) <= 1e-5


def test_their_vgg_object_is_evaluated() -> None:
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    record = snnattack.evaluate(
        VGG(T, 10).eval(),
        (x, y),
        eps=8,
        methods="pgd",
        T=T,
        masking=False,
        overrides=["method.pgd.steps=2"],
    )
    (row,) = record.results
    assert 0.0 <= row.adv_acc <= record.clean_acc


@pytest.mark.parametrize("setting,value", [("mode", "bptr"), ("T", 0), ("tau", 1.5)])
def test_a_lifspike_the_lif_cannot_reproduce_is_refused_naming_the_loader(
    setting: str, value: object
) -> None:
    net = VGG(T, 10)
    setattr(net.layer2[2], setting, value)
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert "\n" not in message and "layer2.2 (" in message and "LIFSpike" in message
    assert "snnattack.load(name, path, lam=..., theta=...)" in message
