"""``pgd``: ``steps`` projected signed-gradient steps of size ``alpha`` (null = 2.5 ε / steps,
Madry et al.'s CIFAR-10 step 2/255 at ε = 8/255 only at 10 steps) from a uniform random start
(Madry et al., ICLR 2018); the model is trained on them alone."""

from __future__ import annotations

from snnattack.training.adversaries.base import Method, register


@register
class PGD(Method):
    """PGD with a random start (:class:`Method`'s defaults); crafted on the batch's
    statistics, as Madry et al."""

    name, order, reads, bn = "pgd", 30, ("alpha", "steps"), "train"
