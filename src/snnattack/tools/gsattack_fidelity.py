"""GSAttack on raw events against the reference's attack loop on the same samples
(``python -m snnattack.tools.bench --gsattack-reference FOLDER``).

The reference is a clone of ``JY-ura/GumbelSoftmaxAttack`` (Yao et al., ECCV 2024), imported
as written from the folder given: its repository has no licence, so this project does not
copy it. Its package ``utils`` is entered without its ``__init__.py``, which imports the
logging module ``utils/metrics.py`` (wandb tables, and a spikingjelly function that the
installed spikingjelly no longer has); nothing else is changed. Per sample, as its ``main.py``
composes them: ``ProbabilityAttacker`` (its candidates and logits by ``init_alpha_mode``),
``GumbelSoftmaxTorch``, ``FrameGenerator`` (frames by number at the sensor's side), Adam and
``CosineAnnealingLR`` (``get_optimizer``, ``get_lr_scheduler``), the temperature's
``CosineAnnealing`` and ``GumbelAttacker.attack_one_step``, stopping at the first success. The
net is digits_net fitted briefly on integer counts of event digits recorded by an 8x8 sensor
(T = 4, by number: the reference frames at the sensor's resolution), both sides under STBP
gradients on one torch thread.

Settings: ``events`` (the reference's ``init_alpha_mode: default``, untargeted) and
``target`` (``init_alpha_mode: target``, targeted at the next class, the insertion
candidates from an attacked sample of that class, as ``main.py`` draws them). For each, this
project's :class:`~snnattack.attacks.methods.gsattack.GSAttack` with ``bins: candidates`` (the
reference's framing) attacks each sample alone from the reference's own candidates and
logits, after the same seed, and the adversarial frames are compared; for ``events`` the
batched attack runs too (its own noise: fooled samples and seconds), and each reference
success's recording is framed as the dataset frames it (``bins: stream``), to count the
successes that survive the reference's framing bug. A fresh temperature generator is built
per sample on both sides (``main.py`` builds one for all samples, so a sample's first step
draws at the previous sample's last temperature); ``carried`` repeats the ``events`` setting
with ``main.py``'s single generator.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

from snnattack.attacks.methods.gsattack import Candidates, GSAttack
from snnattack.data.events import Framing
from snnattack.data.recordings import Recordings
from snnattack.errors import UserError
from snnattack.gradients import gradient_mode
from snnattack.tools.reference import TimeFirst
from snnattack.tools.retime_fidelity import TRAIN, digit_streams, event_digits_net

REFERENCE = "a clone of github.com/JY-ura/GumbelSoftmaxAttack (the folder holding attacker.py)"
SENSOR = 8  # the recording sensor's side: the reference frames at it
FRAMING = Framing(4, SENSOR, "number", "counts")
STEPS = 100  # the reference's max_iteration
CLASSES = 10


class _Preset(GSAttack):
    """GSAttack from given candidates (the reference's), one sample at a time."""

    preset: Candidates

    def batch_candidates(self, y: torch.Tensor) -> list[Candidates]:
        return [self.preset]


def reference_modules(folder: str | Path) -> types.SimpleNamespace:
    """The reference's attack pieces from the clone in ``folder`` (module docstring)."""
    root = Path(folder)
    if not (root / "attacker.py").is_file():
        raise UserError(
            f"--gsattack-reference={folder} holds no attacker.py; accepted: {REFERENCE}"
        )
    package = types.ModuleType("utils")
    package.__path__ = [str(root / "utils")]
    sys.modules["utils"] = package
    sys.path.insert(0, str(root))
    try:
        import attacker
        from attacks.ours.probability_space.event_generator.gumbel_torch import GumbelSoftmaxTorch
        from attacks.ours.probability_space.frame_generator import FrameGenerator
        from attacks.ours.probability_space.probability_attack import ProbabilityAttacker
        from utils import general_utils, optimizer
    except Exception as err:  # the reference's own imports (spikingjelly)
        raise UserError(
            f"--gsattack-reference={folder}: importing it raised {type(err).__name__}: {err}; "
            f"accepted: {REFERENCE}, with spikingjelly installed"
        ) from None
    finally:
        sys.path.remove(str(root))
    return types.SimpleNamespace(
        GumbelAttacker=attacker.GumbelAttacker,
        GumbelSoftmaxTorch=GumbelSoftmaxTorch,
        FrameGenerator=FrameGenerator,
        ProbabilityAttacker=ProbabilityAttacker,
        get_true_values=general_utils.get_true_values,
        optimizer=optimizer,
    )


def _config(targeted: bool, mode: str) -> dict[str, Any]:
    """The reference's resolved config (``config/default.yaml``, ``attack/ours.yaml``,
    ``optimizer/adam.yaml``, ``scheduler/CosALR.yaml``) for this net."""
    attack = {
        "name": "torch", "sample_num": 1, "use_soft_event": False, "lamda": 1, "max_tau": 2.0,
        "min_tau": 0.1, "decay_step": 100, "alpha_boundary": 2.0, "init_alpha_mode": mode,
        "target_position_ratio": 1.0,
    }  # fmt: skip
    return {
        "attack": attack, "model": {"name": "digits_net"}, "dataset": {"num_class": CLASSES},
        "use_soft_logits": False, "main_loss_name": "CrossEntropyLoss", "targeted": targeted,
        "regular_loss_name": "L1Loss", "regular_loss_reduction": "mean", "kappa": 0.1,
        "gradient_accumulation_steps": 1, "use_soft_event": False, "use_amp": False,
        "use_grad_scaling": False, "max_iteration": STEPS,
    }  # fmt: skip


def _events(stream: np.ndarray) -> dict[str, np.ndarray]:
    """A recording as the reference reads one (it sets ``p`` to -1 where 0, in place)."""
    return {f: np.array(stream[f], dtype=np.int64) for f in "txyp"}


def _reference_attack(
    ref: types.SimpleNamespace,
    net: torch.nn.Module,
    prob: torch.nn.Module,
    config: dict[str, Any],
    label: torch.Tensor,
    seed: int,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The reference's attack of one sample from its ``ProbabilityAttacker`` ``prob``, as
    ``main.py``'s ``prepare_attack`` and loop run it after seeding torch with ``seed``: the
    frames ``[1, T, 2, H, W]`` and candidate values of its first success (None, None if none)."""
    attack = config["attack"]
    _, for_attack = ref.get_true_values(prob.alpha.clone(), use_soft_event=False)
    opt = ref.optimizer.get_optimizer(prob.parameters(), name="adam", lr=1, weight_decay=0)
    schedule = ref.optimizer.get_lr_scheduler(opt, name="CosALR", T_max=10)
    generator = prob.event_generator
    tau = ref.optimizer.CosineAnnealing(generator, attack["min_tau"], attack["max_tau"], 100)
    torch.manual_seed(seed)
    attacker = ref.GumbelAttacker(config, prob, label, for_attack, opt, net, None, schedule)
    for epoch in range(1, STEPS + 1):
        _, results = attacker.attack_one_step(epoch=epoch)
        pred = results["logits"].argmax(-1)
        if (pred == label).any() if config["targeted"] else (pred != label).any():
            return results["attack_frame"].transpose(0, 1).detach(), results["hard_event_values"]
        tau.step(iters=epoch)
    return None, None


def _preset(model: torch.nn.Module, candidates: Candidates, bins: str, **params) -> _Preset:
    """This project's attack of one sample from the reference's ``candidates``."""
    attack = _Preset(model, steps=STEPS, bins=bins, **params)
    attack.preset = candidates
    return attack


def measure_gsattack_fidelity(
    folder: str | Path,
    samples: int = 32,
    seed: int = 0,
    spiking_output: bool = False,
    grad: str = "stbp",
) -> dict[str, Any]:
    """The record: per setting, on ``samples`` held-out event digits, the reference's loop and
    this project's attack (one at a time from the reference's candidates, and batched), each
    one's fooled samples and seconds, their identical examples, and the reference successes
    that the dataset's framing keeps (module docstring); the net with ``spiking_output``
    (:func:`~snnattack.tools.retime_fidelity.event_digits_net`), both sides under ``grad``."""
    ref = reference_modules(folder)
    torch.set_num_threads(1)
    model, x, y = event_digits_net(samples, seed, FRAMING, SENSOR, spiking_output)
    streams = digit_streams(TRAIN + samples, SENSOR)[TRAIN:]
    net = TimeFirst(model)
    recordings = Recordings(
        (SENSOR, SENSOR, 2), FRAMING, streams.__getitem__, streams.__getitem__, tuple(y.tolist())
    )
    by_class: dict[int, list] = {}
    for stream, label in zip(streams, y.tolist(), strict=True):
        by_class.setdefault(label, []).append(_events(stream))

    def fooled(adv: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
        with torch.no_grad():
            pred = model(adv).argmax(1)
        return pred == labels if targeted else pred != labels

    record: dict[str, Any] = {
        "samples": samples,
        "seed": seed,
        "spiking_output": spiking_output,
        "grad": grad,
        "settings": {},
    }
    with gradient_mode(model, grad):
        for name, mode, targeted, fresh in (
            ("events", "default", False, True),
            ("target", "target", True, True),
            ("carried", "default", False, False),
        ):
            config = _config(targeted, mode)
            shared = ref.GumbelSoftmaxTorch(tau=2.0, sample_num=1, use_soft_event=False)
            ref_frames, ours_frames, ref_seconds, reframed = [], [], 0.0, 0
            goals = (y + 1) % CLASSES if targeted else y
            for i in range(samples):
                goal = goals[i : i + 1]
                np.random.seed(seed + i)
                torch.manual_seed(seed + i)
                alpha_dict = {
                    "events": _events(streams[i]), "device": torch.device("cpu"),
                    "init_alpha_mode": mode, "event_dict": by_class, "target_label": goal[0],
                    "target_position_ratio": 1.0, "true_label": int(y[i]), "num_class": CLASSES,
                }  # fmt: skip
                generator = (
                    ref.GumbelSoftmaxTorch(tau=2.0, sample_num=1, use_soft_event=False)
                    if fresh
                    else shared
                )
                frame_generator = ref.FrameGenerator("number", FRAMING.frames, SENSOR)
                with contextlib.redirect_stdout(io.StringIO()):  # its notes: not the JSON
                    prob = ref.ProbabilityAttacker(
                        config["attack"], alpha_dict, generator, frame_generator
                    )
                candidates = Candidates(
                    *prob.event_indices[0].long().numpy(), prob.alpha.detach().clone().numpy()
                )
                start = time.perf_counter()
                seeded = seed + 1000 + i
                with contextlib.redirect_stdout(io.StringIO()):
                    frames, values = _reference_attack(ref, net, prob, config, goal, seeded)
                ref_seconds += time.perf_counter() - start
                ref_frames.append(x[i : i + 1] if frames is None else frames)
                target = int(goal) if targeted else -1
                one = recordings.batch([i])
                ours = _preset(model, candidates, "candidates", target=target, recordings=one)
                torch.manual_seed(seeded)
                ours_frames.append(ours(x[i : i + 1], y[i : i + 1]))
                if frames is not None and not targeted:  # its recording, framed by the dataset
                    honest = _preset(model, candidates, "stream", recordings=one)
                    honest.set_candidates([candidates], x.device)
                    framed = honest.frames(values.view(1, -1).float(), torch.tensor([0]))
                    reframed += int(fooled(framed, y[i : i + 1], False))
            theirs, alone = torch.cat(ref_frames), torch.cat(ours_frames)
            labels = goals if targeted else y
            setting = {
                "reference": {
                    "fooled": int(fooled(theirs, labels, targeted).sum()),
                    "seconds": ref_seconds,
                },
                "one_at_a_time": {"fooled": int(fooled(alone, labels, targeted).sum())},
                "identical": int((alone == theirs).flatten(1).all(1).sum()),
            }
            if not targeted:
                setting["reference_kept_by_dataset_framing"] = reframed
            if name == "events":
                for bins in ("candidates", "stream"):
                    batch = recordings.batch(range(samples))
                    attack = GSAttack(
                        model, steps=STEPS, candidates="events", bins=bins, recordings=batch
                    )
                    torch.manual_seed(seed)
                    start = time.perf_counter()
                    adv = attack(x, y)
                    setting[f"batched_{bins}"] = {
                        "fooled": int(fooled(adv, y, False).sum()),
                        "seconds": time.perf_counter() - start,
                    }
            record["settings"][name] = setting
    return record
