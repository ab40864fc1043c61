"""The Square attack (Andriushchenko et al. 2020): score-based and gradient-free, it only
queries the model's outputs, so no gradient mode applies (recorded as ``none``).

:class:`Square` is torchattacks' L∞ Square with the same random draws in the same order, the
same queries and the same examples (``tests/unit/attacks/test_square.py`` compares them), but
less work around each query: its thousands of iterations each query a small batch, so the
bookkeeping between two forwards (a cross-entropy never used, float masks, a second success
check) cost as much as a small network's forward (docs/performance.md, "The ensemble").
"""

from __future__ import annotations

import math

import torch
import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register


class Square(torchattacks.Square):
    """torchattacks' L∞ Square attack (margin loss, untargeted), its loop made lean."""

    def margin(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The margin of the true class over the best other one (< 0: misclassified)."""
        logits = self.get_logits(x)
        true = logits.gather(1, y[:, None])[:, 0]
        others = logits.scatter(1, y[:, None], -math.inf).max(1)[0]
        return true - others

    def attack_single_run(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """torchattacks' ``attack_single_run`` for L∞: one random square per iteration, the
        same for every sample still correct, kept where it lowers that sample's margin."""
        with torch.no_grad():
            c, h, w = x.shape[1:]
            x_best = torch.clamp(x + self.eps * self.random_choice([x.shape[0], c, 1, w]), 0, 1)
            margin_min = self.margin(x_best, y)
            for i_iter in range(self.n_queries):
                # a host sync per iteration, kept (with the copy of the square's signs, drawn
                # on the CPU as torchattacks draws them): only the samples still correct are
                # queried, as torchattacks queries them, and the query count reports it
                todo = (margin_min > 0.0).nonzero().flatten()
                if len(todo) == 0:
                    break
                x_curr, x_best_curr, best = x[todo], x_best[todo], margin_min[todo]
                p = self.p_selection(i_iter)
                s = max(int(round(math.sqrt(p * c * h * w / c))), 1)  # torchattacks' rounding
                vh, vw = _corner(h - s), _corner(w - s)
                x_new = x_best_curr.clone()
                x_new[:, :, vh : vh + s, vw : vw + s] += (
                    2.0 * self.eps * self.random_choice([c, 1, 1])
                )
                x_new = torch.clamp(
                    torch.min(torch.max(x_new, x_curr - self.eps), x_curr + self.eps), 0.0, 1.0
                )
                margin = self.margin(x_new, y[todo])
                improved = margin < best  # a misclassified sample's margin < 0 < best
                margin_min[todo] = torch.where(improved, margin, best)
                x_best[todo] = torch.where(improved[:, None, None, None], x_new, x_best_curr)
        return torch.ones(len(x)), x_best  # queries per sample: crafting counts them

    def perturb(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """torchattacks' ``perturb`` (seeded restarts over the samples still correct), its
        checks without a gradient graph."""
        if self.norm != "Linf" or self.loss != "margin" or self.targeted or y is None:
            return super().perturb(x, y)
        self.init_hyperparam(x)
        adv = x.clone()
        with torch.no_grad():
            acc = self.get_logits(x).max(1)[1] == y
            torch.random.manual_seed(self.seed)
            torch.cuda.random.manual_seed(self.seed)
            for _ in range(self.n_restarts):
                todo = acc.nonzero().flatten()
                if len(todo) == 0:
                    continue
                _, adv_curr = self.attack_single_run(x[todo], y[todo])
                fooled = self.get_logits(adv_curr).max(1)[1] != y[todo]
                acc[todo[fooled]] = False
                adv[todo[fooled]] = adv_curr[fooled]
        return adv


def _corner(high: int) -> int:
    """torchattacks' ``random_int(0, high)``, the same draw from the CPU's generator, read
    there: torchattacks moves it to the device first, which the host then waits to read back."""
    return int((high * torch.rand([1])).long())


@register("square", order=70, gradient_free=True)
def square(
    model: nn.Module,
    eps: float,
    n_queries: int = 1000,
    n_restarts: int = 1,
    p_init: float = 0.8,
    seed: int = 0,
) -> torchattacks.Attack:
    """Square attack (Andriushchenko et al. 2020): random square updates, outputs only."""
    return Square(
        model,
        norm="Linf",
        eps=eps,
        n_queries=n_queries,
        n_restarts=n_restarts,
        p_init=p_init,
        seed=seed,
    )
