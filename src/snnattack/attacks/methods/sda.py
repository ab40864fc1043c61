"""SDA, the Sparse Dynamic Attack (Lun et al., CVPR 2025, "Towards Effective and Sparse
Adversarial Attack on Spiking Neural Networks via Breaking Invisible Surrogate Gradients"):
the fewest bit flips on binary event frames that fool the model, batched.

Threat model: binary frames (``dataset.params.event_encoding=binary``); a flip inserts an
event (0 -> 1) or deletes one (1 -> 0). The budget is not a radius but the number of flips,
L0, reported per success; the method has no radius (its rows are at eps 0, and ``eps`` is
ignored here).

The reference (ryime/PDSG-SDA, ``utils/attack.py``, class ``SDA``) attacks one sample at a
time; here every sample of the batch runs the same steps in parallel and leaves once fooled.
Per sample, with the CW margin loss ``max(z_y - max_{j != y} z_j, 0)`` on the time-averaged
output:

1. Generation, iteration ``n = 1 .. n_iter``: the loss gradient ``g`` at the current example
   (under the job's gradient mode); only flips that decrease the loss to first order are kept
   (``0 <= x - sign(g) <= 1``); zero gradients get random values below the smallest non-zero
   ``|g|`` (so they come last, in random order); flips already selected are excluded. The
   ``k = n * k_init`` largest ``|g|`` are each tried alone on the current example (forward
   passes of at most ``batch_limit`` samples), giving finite differences ``FD = loss(flipped)
   - loss``; those with ``FD <= 0`` join the selected set, those with ``FD > 0`` leave it. The
   example is the clean input with every selected bit flipped; once it fools the model the
   sample stops. A sample not fooled after ``n_iter`` iterations gets its clean input back
   (a failure: L0 = 0).
2. Reduction: the selected flips sorted by ``|FD|``, smallest first; a binary search finds the
   longest prefix of them that can be undone with the example still fooling the model.

Differences from the reference: the random values for zero gradients are drawn for the whole
batch at once, so a sample's draw differs from the reference's one-sample run (only the order
of zero-gradient candidates depends on it: on a network with spiking outputs under STBP's
triangle slope, 4 of 64 examples in docs/event_attacks.md's fidelity matrix, all 64 equal
when run one at a time); ``k`` is capped at the input's size (the reference fails there).
"""

from __future__ import annotations

import torch
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import compaction_interval, register


def cw_margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample CW loss of the reference: ``max(z_y - max_{j != y} z_j, 0)`` (to minimise).

    ``torch.maximum`` as the reference's ``CWLoss`` (``utils/attack.py``: ``torch.max(t,
    torch.zeros_like(t))``): at a tie (``z_y`` equal to the best other, frequent with spike
    counts as outputs) its gradient is half of ``t``'s, where ``clamp`` would give none."""
    true = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    margin = true - others
    return torch.maximum(margin, torch.zeros_like(margin))


@register("sda", order=80, events=("binary",))
class SDA(Attack):
    """SDA on binary frames (module docstring); the method ``sda`` itself, its parameters
    ``conf/method/sda.yaml``'s keys."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        k_init: int = 10,
        n_iter: int = 500,
        batch_limit: int = 64,
    ) -> None:
        super().__init__("SDA", model)
        self.k_init, self.n_iter, self.batch_limit = k_init, n_iter, batch_limit
        self.supported_mode = ["default"]

    def _fooled(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.get_logits(x).argmax(1) != y

    def _flip_losses(self, adv: torch.Tensor, y: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """Losses ``[b, k]`` of ``adv`` (``[b, ...]``), each of its ``top`` bits flipped alone."""
        b, k = top.shape
        sample = torch.arange(b, device=adv.device).repeat_interleave(k)
        position = top.flatten()
        losses = []
        with torch.no_grad():
            for start in range(0, b * k, self.batch_limit):
                s, p = (
                    sample[start : start + self.batch_limit],
                    position[start : start + self.batch_limit],
                )
                trial = adv[s].flatten(1).clone()
                rows = torch.arange(len(s), device=adv.device)
                trial[rows, p] = 1.0 - trial[rows, p]
                losses.append(cw_margin(self.get_logits(trial.view(len(s), *adv.shape[1:])), y[s]))
        return torch.cat(losses).view(b, k)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        flat_x = x.flatten(1)
        size = flat_x.shape[1]
        selected = torch.zeros_like(flat_x, dtype=torch.bool)
        fd = torch.full_like(flat_x, float("inf"))
        adv = flat_x.clone()
        active = ~self._fooled(x, y)  # a sample already misclassified needs no flip
        success = torch.zeros_like(active)
        every = compaction_interval(x.device)
        for n in range(self.n_iter):
            if n % every == 0:
                # the one host sync, every ``every`` iterations: the gradient and the trial
                # flips run on the samples still to attack, and the loop leaves once none is
                idx = active.nonzero().squeeze(1)
                if not len(idx):
                    break
            live = active[idx][:, None]  # those fooled since the last read keep their state
            # drawn for the whole batch: a sample's draw does not depend on which others run
            noise = torch.rand_like(flat_x)[idx]
            current = adv[idx].view(len(idx), *x.shape[1:]).requires_grad_(True)
            loss = cw_margin(self.get_logits(current), y[idx])
            grad = torch.autograd.grad(loss.sum(), current)[0].flatten(1)
            keep = current.detach().flatten(1) - grad.sign()
            grad = grad * ((keep >= 0.0) & (keep <= 1.0))
            # zero gradients: random values below the sample's smallest non-zero |g|
            smallest = torch.where(grad != 0, grad.abs(), float("inf")).amin(1, keepdim=True)
            smallest = torch.where(smallest.isinf(), torch.ones_like(smallest), smallest)
            grad = torch.where(grad == 0, noise * smallest, grad)
            grad = grad * ~selected[idx]
            k = min((n + 1) * self.k_init, size)
            top = grad.abs().topk(k, dim=1).indices
            tried = self._flip_losses(adv[idx].view(len(idx), *x.shape[1:]), y[idx], top)
            fd_now, chosen = fd[idx], selected[idx]
            fd_now.scatter_(1, top, tried - loss.detach()[:, None])
            chosen.scatter_(1, top, True)
            worse = fd_now > 0
            chosen &= ~worse
            fd_now = torch.where(worse, float("inf"), fd_now)
            fd[idx] = torch.where(live, fd_now, fd[idx])
            selected[idx] = torch.where(live, chosen, selected[idx])
            adv[idx] = torch.where(selected[idx], 1.0 - flat_x[idx], flat_x[idx])
            fooled = self._fooled(adv[idx].view(len(idx), *x.shape[1:]), y[idx]) & live[:, 0]
            active[idx] &= ~fooled
            success[idx] |= fooled
        adv = torch.where(success[:, None], adv, flat_x)
        return self._reduce(adv, flat_x, fd, selected, success, y, x.shape[1:]).view_as(x)

    def _reduce(
        self,
        adv: torch.Tensor,
        flat_x: torch.Tensor,
        fd: torch.Tensor,
        selected: torch.Tensor,
        success: torch.Tensor,
        y: torch.Tensor,
        shape: torch.Size,
    ) -> torch.Tensor:
        """Undoes the longest prefix of each success's flips (by ``|FD|``, smallest first)
        that keeps it fooling the model: a binary search per sample, all searched at once.
        Once per batch, it reads the successes and, at each search step, which trials fool
        (host syncs); each sample's order is its own ``topk``, the reference's tie order."""
        idx = success.nonzero().squeeze(1).tolist()
        order = {i: fd[i].abs().topk(int(selected[i].sum()), largest=False).indices for i in idx}
        left = {i: 0 for i in idx}
        right = {i: len(order[i]) - 1 for i in idx}
        final = adv.clone()
        while searching := [i for i in idx if left[i] <= right[i]]:
            ptr = {i: (left[i] + right[i]) // 2 for i in searching}
            trial = adv[searching].clone()
            for row, i in enumerate(searching):
                undo = order[i][: ptr[i] + 1]
                trial[row, undo] = flat_x[i, undo]
            fooled = self._fooled(trial.view(-1, *shape), y[searching]).tolist()
            for row, i in enumerate(searching):
                if fooled[row]:
                    left[i] = ptr[i] + 1
                    final[i] = trial[row]
                else:
                    right[i] = ptr[i] - 1
        return final
