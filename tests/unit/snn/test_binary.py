"""Spikes saved as bytes: the same gradients, and no float spikes kept for the backward."""

import torch

import snnattack.snn.neurons
from snnattack.models import build
from snnattack.snn.backend import set_backend
from snnattack.snn.binary import mark, spikes_as_bytes


def test_marked_spikes_come_back_from_bytes_with_the_same_gradient() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3).double()
    spikes = (torch.rand(2, 3, 6, 6, dtype=torch.float64) > 0.5).double().requires_grad_(True)
    grads = []
    for marking in (False, True):
        with spikes_as_bytes():
            x = mark(spikes * 1.0) if marking else spikes * 1.0
            out = conv(x)
        grads.append(torch.autograd.grad(out.square().sum(), [conv.weight, spikes]))
    for a, b in zip(*grads, strict=True):
        assert torch.equal(a, b)


def test_a_marked_tensor_modified_in_place_is_saved_as_it_is() -> None:
    weight = torch.rand(3, 3, dtype=torch.float64, requires_grad=True)
    with spikes_as_bytes():
        x = mark(torch.ones(2, 3, dtype=torch.float64))
        x.mul_(0.5)  # no longer 0/1: must not be squeezed into bool
        out = x @ weight
    (grad,) = torch.autograd.grad(out.sum(), weight)
    assert torch.equal(grad, torch.full((3, 3), 1.0, dtype=torch.float64))


def saved_tensors(output: torch.Tensor) -> list[torch.Tensor]:
    """Every tensor the autograd graph of ``output`` keeps for its backward (as unpacked)."""
    found, seen, stack = [], set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            value = getattr(node, name) if name.startswith("_saved_") else None
            if isinstance(value, torch.Tensor):
                found.append(value)
        stack += [next_node for next_node, _ in node.next_functions]
    return found


def spikes_kept_as_floats(model: torch.nn.Module) -> int:
    """How many of the tensors a training forward keeps are the LIFs' float spikes."""
    spikes = []
    hooks = [
        m.register_forward_hook(lambda m, args, out: spikes.append(out))
        for m in model.modules()
        if isinstance(m, snnattack.snn.neurons.LIF)
    ]
    out = model.train()(torch.rand(8, 1, 8, 8))
    for hook in hooks:
        hook.remove()
    storages = {s.untyped_storage().data_ptr() for s in spikes}
    return sum(t.untyped_storage().data_ptr() in storages for t in saved_tensors(out))


def test_a_training_forward_keeps_its_spikes_only_as_bytes(monkeypatch) -> None:
    torch.manual_seed(0)
    model = build("digits_net", num_classes=10, in_channels=1, T=4, lam=0.9)
    assert spikes_kept_as_floats(model) == 0
    monkeypatch.setattr(snnattack.snn.neurons, "mark", lambda spikes: spikes)
    set_backend(model, "torch")  # pooling as the module, which keeps its input
    assert spikes_kept_as_floats(model) == 2  # the two pooling layers' inputs
