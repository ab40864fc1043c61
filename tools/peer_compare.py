"""This project against what a GPU user would pick instead, in one process on one device, as a
markdown report: ``python -m tools.peer_compare --out report.md``.

1. PGD at 8/255 (α 2/255) on a spikingjelly 2.0 multi-step CIFAR VGG-11 (LIFNode, ATan,
   average pooling; BN statistics of the random batch, so that every layer spikes):
   ``torchattacks.PGD`` on the network as a spikingjelly user wraps it, against
   ``snnattack.attack(net, x, y, "pgd", grad_mode=...)`` with ``stbp`` (the net's own ATan
   surrogate, so that its gradient is the peer's) and ``rga``. Per attack, every call after
   a warm-up at its step count: seconds per call (median, all attacks interleaved), its
   ratio to the peer's, robust accuracy (over ``--judged`` batches), peak memory, kernel
   launches per PGD step
   (``torch.profiler``'s GPU kernels, the difference of a 2-step and a 1-step call) and the
   fixed cost per call against the cost per step (a line through the 1-step and the
   ``--steps`` call).
2. The LIF alone, forward and backward on ``[T, *--lif-shape]`` float32: this project's LIF
   (its default backend and ``torch``), a plain torch loop, spikingjelly 2.0's ``LIFNode``;
   whether each one's spikes equal spikingjelly's.
3. The RGA paper's Table S2 steps (:mod:`snnattack.tools.step_cost` on this project's VGG-11):
   forward, RGA and STBP step and their peak memory; and a training step of the
   ``cifar10_vgg11`` preset (VGG-11, T 8, λ 1, hard reset) at ``--train-batch``.

Every part runs under the same GPU numerics, this project's defaults unless told otherwise
(TF32 off, deterministic kernels: ``--tf32``, ``--nondeterministic``), which
``snnattack.attack`` holds for its calls and the peer then runs under too.

On a CPU (no CUDA) only the operator calls per PGD step of part 1 are counted (what a GPU
would launch as kernels; at ``--batch`` 4 by default: the counts do not depend on it), and the
report says in one line that times need a GPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
import torchattacks
from torch import nn
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from snnattack.analysis import resolve_device
from snnattack.analysis.cost import PeakMemory, calibrate_batchnorm
from snnattack.api import attack
from snnattack.config.preflight import device_exists
from snnattack.errors import UserError
from snnattack.process.clock import synced_time
from snnattack.process.numerics import held
from snnattack.runtime.cli import ArgumentParser, refuse
from snnattack.tools import step_cost
from tools.peer_nets import (
    Neuron,
    UserWrapped,
    lif_contenders,
    require_spikingjelly,
    spikingjelly_vgg11,
)

EPS, ALPHA = 8, 2  # the attack's radius and step, in 1/255
MODES = ("stbp", "rga")  # the gradient modes compared: the default and the RGA paper's
S2_BATCH = 32  # the RGA paper's Table S2 batch
PEER = "peer: torchattacks.PGD on the wrapped spikingjelly net"
MB = 2**20
GPU_ONLY = "Times need a GPU: on this CPU only the operator calls per PGD step are counted."

Attack = Callable[[int], torch.Tensor]  # steps -> adversarial examples


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    out = ArgumentParser(
        prog="python -m tools.peer_compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    out.add_argument("--out", type=Path, help="the markdown report (default: stdout)")
    out.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    out.add_argument("--seed", type=int, default=0, help="seed of weights, images and attacks")
    out.add_argument(
        "--batch", type=int, help="images per PGD call (default: 32 on a GPU, 4 on a CPU)"
    )
    out.add_argument("--T", type=int, default=8, help="time steps of the PGD network")
    out.add_argument("--image", type=int, default=32, help="image side (32: CIFAR)")
    out.add_argument("--steps", type=int, default=10, help="PGD steps of a timed call")
    out.add_argument("--repeats", type=int, default=5, help="timed calls per attack and steps")
    out.add_argument(
        "--judged", type=int, default=8, help="batches the robust accuracy is measured on"
    )
    out.add_argument("--lif-T", type=int, nargs="+", default=[4, 8, 16], help="LIF alone: T")
    out.add_argument(
        "--lif-shape", type=int, nargs="+", default=[64, 65536], help="LIF alone: [T, *shape]"
    )
    out.add_argument("--lif-repeats", type=int, default=20, help="LIF alone: timed runs")
    out.add_argument("--train-batch", type=int, default=64, help="the preset's training batch")
    out.add_argument("--tf32", action="store_true", help="allow TF32 (the config's tf32=true)")
    out.add_argument(
        "--nondeterministic", action="store_true", help="the config's deterministic=false"
    )
    args = out.parse_args(argv)
    for name in ("batch", "T", "image", "repeats", "judged", "lif_repeats", "train_batch"):
        value = getattr(args, name)
        if value is not None and value < 1:
            out.error(f"--{name.replace('_', '-')}={value} is out of range (>= 1)")
    if args.steps < 2 or min(args.lif_T) < 1 or min(args.lif_shape) < 1:
        out.error("--steps must be >= 2 and --lif-T, --lif-shape positive")
    return args


# part 1: PGD ------------------------------------------------------------------------------------


def attacks(
    body: nn.Module,
    wrapped: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    args: argparse.Namespace,
) -> dict[str, Attack]:
    """The PGD calls compared, by row name: the peer's and this project's per gradient mode,
    at ``args``' T, seed and numerics."""
    T, seed = args.T, args.seed
    numerics = [f"tf32={args.tf32}".lower(), f"deterministic={not args.nondeterministic}".lower()]

    def peer(steps: int) -> torch.Tensor:
        torch.manual_seed(seed)
        pgd = torchattacks.PGD(wrapped, eps=EPS / 255, alpha=ALPHA / 255, steps=steps)
        return pgd(x, y)

    def ours(mode: str) -> Attack:
        return lambda steps: attack(
            body,
            x,
            y,
            "pgd",
            eps=EPS,
            grad_mode=mode,
            T=T,
            steps=steps,
            alpha=ALPHA,
            seed=seed,
            overrides=numerics,
        )

    rows = {f'snnattack.attack(..., "pgd", grad_mode="{m}", T={T})': ours(m) for m in MODES}
    return {PEER: peer, **rows}


def launches(run: Callable[[], object], device: torch.device) -> int:
    """What one run of ``run`` asks of ``device``: on CUDA the GPU kernels ``torch.profiler``
    records (copies and fills not counted), elsewhere its operator calls (``cpu_op``)."""
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        run()
        synced_time(device)
    if cuda:
        return sum(
            1
            for e in prof.events()
            if e.device_type == DeviceType.CUDA and not e.name.startswith(("Memcpy", "Memset"))
        )
    return sum(1 for e in prof.events() if e.device_type == DeviceType.CPU)


def warm_up(run: Attack, step_counts: tuple[int, ...]) -> None:
    """Calls ``run`` once at each of ``step_counts``: a first call does work that no step
    does (the kernels' first launches; ``snnattack.attack`` prepares once per set of
    arguments, ``steps`` among them: it adapts the model and checks its weights and logits,
    which an H100 run that counted a first 2-step call took for ~490 kernels per step)."""
    for steps in step_counts:
        run(steps)


def measure_attacks(
    contenders: dict[str, Attack], args: argparse.Namespace, device: torch.device, timed: bool
) -> dict[str, Any]:
    """Per attack its launches per step (those of a 2-step call less those of a 1-step call)
    and, if ``timed``, its times (1 and ``--steps`` steps, all attacks interleaved) and peak
    memory; every call measured after a warm-up at its step count."""
    out: dict[str, dict[str, Any]] = {}
    for name, run in contenders.items():
        warm_up(run, (1, 2, args.steps) if timed else (1, 2))
        two, one = (launches(lambda s=s, run=run: run(s), device) for s in (2, 1))
        out[name] = {"launches_per_step": two - one}
    if not timed:
        return out
    memory = PeakMemory(device)
    times: dict[tuple[str, int], list[float]] = {}
    for name, run in contenders.items():
        peak = memory.measure(lambda run=run: run(args.steps))
        out[name]["peak_mb"] = None if peak is None else peak / MB
    for _ in range(args.repeats):
        for name, run in contenders.items():
            for steps in (1, args.steps):
                start = synced_time(device)
                run(steps)
                times.setdefault((name, steps), []).append(synced_time(device) - start)
    peer_seconds = statistics.median(times[PEER, args.steps])
    for name in contenders:
        one, many = (statistics.median(times[name, s]) for s in (1, args.steps))
        step = (many - one) / (args.steps - 1)
        out[name].update(seconds=many, vs_peer=many / peer_seconds, step_s=step, fixed_s=one - step)
    return out


def robust_accuracy(
    body: nn.Module,
    wrapped: nn.Module,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    args: argparse.Namespace,
) -> dict[str, float]:
    """Per attack, the share of the images of ``batches`` that the wrapped net still
    classifies right after the attack's ``--steps`` call on each batch: over several batches,
    as one batch of 32 moves the figure by 3.1 points an image (and the peer draws its random
    start from the device's generator, ``snnattack.attack`` from the CPU's)."""
    correct: dict[str, int] = {}
    for x, y in batches:
        for name, run in attacks(body, wrapped, x, y, args).items():
            adv = run(args.steps)
            with torch.no_grad():
                hits = int((wrapped(adv).argmax(1) == y).sum())
            correct[name] = correct.get(name, 0) + hits
    images = sum(len(y) for _, y in batches)
    return {name: hits / images for name, hits in correct.items()}


# part 2: the LIF alone --------------------------------------------------------------------------


def lif_step(neuron: Neuron, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """One forward and backward of ``neuron`` on ``x`` (``grad`` at its spikes); the spikes."""
    s = neuron(x.detach().requires_grad_(True))
    s.backward(grad)
    return s.detach()


def measure_lif(args: argparse.Namespace, device: torch.device) -> list[dict[str, Any]]:
    """Per T, each LIF's forward and backward time (ms, median) and whether its spikes equal
    spikingjelly's."""
    rows = []
    contenders = lif_contenders(device)
    reference = list(contenders)[-1]
    for T in args.lif_T:
        torch.manual_seed(args.seed)
        x = torch.randn(T, *args.lif_shape, device=device)
        grad = torch.randn_like(x)
        spikes, times = {}, {}
        for name, neuron in contenders.items():
            spikes[name] = lif_step(neuron, x, grad)  # and the warm-up
            times[name] = []
            for _ in range(args.lif_repeats):
                start = synced_time(device)
                lif_step(neuron, x, grad)
                times[name].append(synced_time(device) - start)
        rows.append(
            {
                "T": T,
                **{name: statistics.median(t) * 1e3 for name, t in times.items()},
                "equal": [n for n in contenders if torch.equal(spikes[n], spikes[reference])],
            }
        )
    return rows


# part 3: Table S2 and a training step -----------------------------------------------------------


def step_record(
    args: argparse.Namespace, device: torch.device, batch: int, extra: list[str]
) -> dict[str, Any]:
    """:func:`snnattack.tools.step_cost.bench` on this project's VGG-11 at T 8, λ 1, hard
    reset (the ``cifar10_vgg11`` preset's network) with ``extra`` options. The adversarial
    training steps it also times are not reported here: one PGD step each."""
    argv = [
        "--model",
        "vgg11",
        "--input-shape",
        "3",
        "32",
        "32",
        "--T",
        "8",
        "--lam",
        "1.0",
        "--reset",
        "hard",
        "--batch",
        str(batch),
        "--device",
        str(device),
        "--repeats",
        str(args.repeats),
        "--seed",
        str(args.seed),
        *(["--tf32"] if args.tf32 else []),
        *(["--nondeterministic"] if args.nondeterministic else []),
        *extra,
    ]
    options = step_cost.parse_args(argv)
    step_cost.check_steps(options)
    return step_cost.bench(options)


def measure_steps(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """The Table S2 steps (batch :data:`S2_BATCH`) and the preset's STBP training step
    (``--train-batch``)."""
    s2 = step_record(args, device, S2_BATCH, ["--modes", *MODES])["modes"]
    preset = ["--modes", MODES[0], "--train"]  # the training step, beside one attack step
    train = step_record(args, device, args.train_batch, preset)["modes"]["train"]
    return {"s2": {k: s2[k] for k in ("forward", *MODES)}, "train": train}


# the report --------------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _number(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def attack_section(found: dict[str, Any], args: argparse.Namespace, timed: bool) -> str:
    """Part 1's table: timed, every column (on CUDA), else the operator calls per step."""
    unit = "kernel launches per step" if timed else "operator calls per step"
    title = (
        f"## PGD-{args.steps} at {EPS}/255 (α {ALPHA}/255), spikingjelly VGG-11, "
        f"batch {args.batch}, T {args.T}, {args.image}x{args.image}"
    )
    if not timed:
        rows = [[name, f"{m['launches_per_step']:d}"] for name, m in found.items()]
        return f"{title}\n\n{GPU_ONLY}\n\n" + table(["attack", unit], rows)
    header = [
        "attack",
        "s per call",
        "× peer",
        f"robust acc. ({args.judged * args.batch} images)",
        "peak MB",
        unit,
        "fixed ms per call",
        "ms per step",
    ]
    rows = [
        [
            name,
            f"{m['seconds']:.3f}",
            f"{m['vs_peer']:.2f}",
            f"{100 * m['robust_acc']:.1f} %",
            _number(m["peak_mb"], ".0f"),
            f"{m['launches_per_step']:d}",
            f"{1e3 * m['fixed_s']:.1f}",
            f"{1e3 * m['step_s']:.1f}",
        ]
        for name, m in found.items()
    ]
    return f"{title}\n\n" + table(header, rows)


def lif_section(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Part 2's table: a row per T, the first contender over spikingjelly's."""
    names = [k for k in rows[0] if k not in ("T", "equal")]
    reference, ours = names[-1], names[0]
    header = ["T", *(f"{n} (ms)" for n in names), f"{ours} / spikingjelly", "spikes equal"]
    body = [
        [
            str(r["T"]),
            *(f"{r[n]:.2f}" for n in names),
            f"{r[ours] / r[reference]:.2f}",
            "all" if len(r["equal"]) == len(names) else "only " + ", ".join(r["equal"]),
        ]
        for r in rows
    ]
    shape = ", ".join(map(str, args.lif_shape))
    title = (
        f"## The LIF alone, forward + backward, [T, {shape}] float32, median of {args.lif_repeats}"
    )
    return f"{title}\n\n" + table(header, body)


def steps_section(steps: dict[str, Any], args: argparse.Namespace) -> str:
    """Part 3: the Table S2 steps and the preset's training step."""
    s2 = steps["s2"]
    rows = [
        [
            name,
            f"{1e3 * m['seconds']:.1f}",
            f"{m['time_vs_forward']:.2f}",
            _number(m["time_vs_stbp"], ".2f"),
            _number(m["peak_mb"], ".0f"),
        ]
        for name, m in s2.items()
    ]
    train = steps["train"]
    return (
        f"## The RGA paper's Table S2 steps: this project's VGG-11, batch {S2_BATCH}, T 8\n\n"
        + table(["step", "ms", "× forward", "× stbp", "peak MB"], rows)
        + f"\n\nA training step of the `cifar10_vgg11` preset (STBP, batch {args.train_batch}, "
        f"T 8, the step alone: `step_cost --train`): {1e3 * train['seconds']:.1f} ms."
    )


def report(args: argparse.Namespace, device: torch.device, parts: dict[str, Any]) -> str:
    """The markdown report of the measured ``parts`` (times where part 2 was measured)."""
    timed = "lif" in parts
    threads = f"CPU, {torch.get_num_threads()} threads"
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else threads
    head = (
        f"# snnattack against the peer on {where}\n\n"
        f"torch {torch.__version__}, torchattacks {torchattacks.__version__}, spikingjelly "
        f"{parts['spikingjelly']}; TF32 {'allowed' if args.tf32 else 'off'}, "
        f"{'nondeterministic' if args.nondeterministic else 'deterministic'} kernels"
        + (f"; times are medians of {args.repeats} calls after a warm-up." if timed else ".")
    )
    sections = [head, attack_section(parts["attacks"], args, timed)]
    if timed:
        sections += [lif_section(parts["lif"], args), steps_section(parts["steps"], args)]
    return "\n\n".join(sections) + "\n"


def compare(args: argparse.Namespace) -> str:
    """Every measurement of the module docstring on one device, as the markdown report."""
    require_spikingjelly()
    device_exists("--device", args.device)
    device = resolve_device(args.device)
    if args.batch is None:
        args.batch = 32 if device.type == "cuda" else 4
    torch.manual_seed(args.seed)
    body = spikingjelly_vgg11(args.image).to(device)
    wrapped = UserWrapped(body, args.T)
    batches = [
        (
            torch.rand(args.batch, 3, args.image, args.image, device=device),
            torch.randint(0, 10, (args.batch,), device=device),
        )
        for _ in range(args.judged)
    ]
    x, y = batches[0]
    calibrate_batchnorm(wrapped, x)
    parts: dict[str, Any] = {"spikingjelly": version("spikingjelly")}
    contenders = attacks(body, wrapped, x, y, args)
    cuda = device.type == "cuda"
    with held(args.tf32, not args.nondeterministic):  # the peer's numerics are ours
        parts["attacks"] = measure_attacks(contenders, args, device, timed=cuda)
        if cuda:
            robust = robust_accuracy(body, wrapped, batches, args)
            for name, share in robust.items():
                parts["attacks"][name]["robust_acc"] = share
            parts["lif"] = measure_lif(args, device)
            parts["steps"] = measure_steps(args, device)
    return report(args, device, parts)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        text = compare(args)
    except UserError as err:
        refuse(err)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
