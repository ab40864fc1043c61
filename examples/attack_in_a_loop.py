"""The fixed cost of ``snnattack.attack`` called in a loop over batches, as users call it: the
time per call against the attack's steps (PGD, steps 1 and 10, interleaved, the median of
``--repeats``) on a small spikingjelly network, whose intercept is what each call pays besides
the attack, and what a call right after an optimiser step pays (a training loop that attacks
each batch: the kept preparation attacks the new weights, copied into its attacked copy):
``OMP_NUM_THREADS=1 python examples/attack_in_a_loop.py`` (needs the ``interop`` extra;
``--device cuda`` on a GPU; ``--neuron plif``: its neurons learn their decays, which a step
moves and the kept preparation takes). Prints JSON: the milliseconds per call at each step
count, per step, fixed, and of a PGD-1 call after a step; the same of torchattacks' PGD alone
on the adapted network, interleaved (``torchattacks_``: what the attack costs without the
call around it, so that ``fixed_ms`` minus ``torchattacks_fixed_ms`` is what the call adds);
on a GPU also the host syncs of one
call at each step count (torch's sync debug mode counts every wait of the host for the device)
and the lines of Python that wait; then the settings and what measured them (snnattack's version
and git commit, torch's version, its threads), as a job's ``metrics.json`` records them. A
mistyped option, a value out of range or a device this machine does not have is refused in
one line, exit code 2.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
import torchattacks
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

import snnattack
from snnattack.analysis import resolve_device
from snnattack.config.preflight import device_exists
from snnattack.errors import ConfigError, UserError
from snnattack.records.provenance import provenance
from snnattack.runtime.cli import ArgumentParser, refuse
from snnattack.values import integer

# the network's neurons: spikingjelly's LIF, or its parametric LIF, whose decay (1/tau at
# first) is a parameter the optimiser's step moves
NODES = {
    "lif": lambda: neuron.LIFNode(tau=2.0, v_threshold=0.5),
    "plif": lambda: neuron.ParametricLIFNode(init_tau=2.0, v_threshold=0.5),
}


def network(node: str = "lif") -> nn.Module:
    """A small spikingjelly network of 8x8 digits (multi-step, two spiking layers of the
    neurons ``node`` names: :data:`NODES`)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        NODES[node](),
        layer.AvgPool2d(2),
        layer.Conv2d(16, 32, 3, padding=1, bias=False),
        layer.BatchNorm2d(32),
        NODES[node](),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32 * 2 * 2, 10),
    )
    functional.set_step_mode(net, "m")
    return net.eval()


def fixed_cost(
    batch: int = 32, T: int = 4, repeats: int = 7, device: str = "cpu", node: str = "lif"
) -> dict[str, float]:
    """Milliseconds per ``snnattack.attack`` call of PGD at 1 and 10 steps (after a first
    call of each, which prepares), per step, and the intercept: the fixed cost per call; and
    per PGD-1 call right after an SGD step on the model (of ``node`` neurons)."""
    net = network(node).to(device)
    x = torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(0)).to(device)
    y = (torch.arange(batch) % 10).to(device)
    times: dict[int, list[float]] = {1: [], 10: []}
    optimiser = torch.optim.SGD(net.parameters(), lr=1e-3)

    def train_step() -> None:  # as a training loop makes it between two batches' attacks
        net.train()
        loss = F.cross_entropy(net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        functional.reset_net(net)
        net.eval()

    def attack(steps: int) -> None:
        snnattack.attack(net, x, y, "pgd", eps=8, T=T, steps=steps)

    # the same PGD by torchattacks alone on the adapted network (the same forward): what
    # the attack costs without the call around it
    adapted = snnattack.interop.adapt(net, T=T)
    alpha = 8 / 255 / 3.1  # the step size of snnattack's PGD (method.pgd.eps_per_alpha)
    baseline = {s: torchattacks.PGD(adapted, eps=8 / 255, alpha=alpha, steps=s) for s in times}

    def call(steps: int, attack: Callable[[int], object] = attack) -> None:
        attack(steps)
        if x.is_cuda:
            torch.cuda.synchronize()

    def alone(steps: int) -> None:
        baseline[steps](x, y)

    series = {"": (attack, times), "torchattacks_": (alone, {s: [] for s in times})}
    for run, _ in series.values():  # the first call of each settings prepares
        for steps in times:
            call(steps, run)
    for _ in range(repeats):
        for run, seconds in series.values():
            for steps in times:
                start = time.perf_counter()
                call(steps, run)
                seconds[steps].append(time.perf_counter() - start)
    out = {}
    for name, (_, seconds) in series.items():
        one, ten = (statistics.median(seconds[s]) * 1e3 for s in (1, 10))
        per_step = (ten - one) / 9
        out.update({f"{name}steps_1_ms": one, f"{name}steps_10_ms": ten})
        out.update({f"{name}per_step_ms": per_step, f"{name}fixed_ms": one - per_step})
    if x.is_cuda:
        syncs(lambda: None)  # the first switch to the debug mode warns once by itself
        for s in times:
            sites = syncs(lambda s=s: attack(s))
            out.update({f"syncs_steps_{s}": len(sites), f"sync_sites_steps_{s}": sites})
    # after the series above, whose calls the garbage of the training steps would slow
    trained = []
    for _ in range(repeats):
        train_step()
        start = time.perf_counter()
        call(1)
        trained.append(time.perf_counter() - start)
    out["steps_1_after_a_step_ms"] = statistics.median(trained) * 1e3
    return out


def syncs(call) -> list[str]:
    """Where ``call`` waits for the device, one ``file:line`` per host sync (torch's CUDA
    sync debug mode warns at each, from the line of Python that asked)."""
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            call()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return [f"{w.filename}:{w.lineno}" for w in caught if "synchroniz" in str(w.message)]


def main(argv: list[str] | None = None) -> None:
    """The command: its options checked before any work, the measurement, then its JSON."""
    parser = ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--T", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--neuron", default="lif", choices=list(NODES), help="the neurons")
    args = parser.parse_args(argv)
    try:
        for option in ("batch", "T", "repeats"):
            integer(1).check(f"--{option}", getattr(args, option))
        if not re.fullmatch(r"cpu|cuda(:\d+)?", args.device):
            raise ConfigError(f"--device={args.device} is unknown; accepted: cpu, cuda or cuda:N")
        device_exists("--device", args.device)
        device = str(resolve_device(args.device))
        out = fixed_cost(args.batch, args.T, args.repeats, device, args.neuron)
    except UserError as err:
        refuse(err)
    settings = {"batch": args.batch, "T": args.T, "repeats": args.repeats, "device": device}
    settings["neuron"] = args.neuron
    print(json.dumps({**out, "settings": settings, **attacked_under(args.T, device)}, indent=1))


def attacked_under(T: int, device: str) -> dict[str, str | int | bool]:
    """:func:`provenance` as the attack's forwards see it: ``snnattack.attack`` holds its
    config's numerics (``tf32``, ``deterministic``) for the call only, and after it the
    process's own were read instead (a job's metrics.json records the config's)."""
    net, seen = network().to(device), {}
    x, y = torch.rand(2, 1, 8, 8, device=device), torch.arange(2, device=device)
    handle = net.register_forward_hook(lambda *_: seen.update(provenance()))
    try:
        snnattack.attack(net, x, y, "pgd", eps=8, T=T, steps=1)
    finally:
        handle.remove()
    return seen


if __name__ == "__main__":
    main()
