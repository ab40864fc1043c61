"""Spike-Retiming against the reference's classes on the same samples
(``python -m fidelity.retime --reference FOLDER``, from the checkout's root).

The reference is ``utils/attack.py`` of a clone of ``yuyi-sd/Spike-Retiming-Attacks`` (Yu et
al., ICLR 2026), imported as written from the folder given: its repository has no licence, so
this project does not copy it. Its classes run on CPU as its ``test.py`` runs them, one sample
``[T, 1, C, H, W]`` at a time, at its own step counts: ``PGDTimeShiftAfterEncoder_Lowgpu`` (the
class ``test.py`` runs for B∞) at ``D=1`` and ``D=2``, ``PGDTimeShiftAfterEncoder_L1`` at a
total delay of 6, ``PGDTimeShiftAfterEncoder_L0`` at 3 moves, and the dense
``PGDTimeShiftAfterEncoder`` at ``D=1``; this project's
:class:`~snnattack.attacks.methods.retime.Retime` attacks the same samples in one batch with
the parameters of ``conf/method/retime*.yaml`` at the same budget and steps. The model is
digits_net fitted briefly (:func:`fidelity.nets.event_digits_net`) and the samples its held-out
event digits (with or without an LIF layer after its readout), both sides under the same
gradient mode (STBP or PDSG), on one torch thread; the reference's prints are dropped (stdout
carries the record). The record gives per setting each side's fooled samples and seconds and
the number of identical examples among the samples the net classifies correctly (``correct``:
this project leaves a misclassified one as it is, the reference retimes it too;
docs/event_attacks.md, "Fidelity").
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from fidelity.command import event_comparison, fidelity_table, per_setting
from fidelity.nets import TimeFirst, event_digits_net
from fidelity.reference import reference_module
from snnattack.attacks.methods.retime import Retime
from snnattack.gradients import gradient_mode
from tools.retime_cost import method_params

REFERENCE = (
    "a clone of github.com/yuyi-sd/Spike-Retiming-Attacks (the folder holding utils/attack.py)"
)
# (setting, this project's config file, norm, budget, steps, phi_init, reference class, its kwargs)
SETTINGS = (
    ("B∞ D=1", "retime", "linf", 1, 20, 4.0, "PGDTimeShiftAfterEncoder_Lowgpu", {"D": 1}),
    ("B∞ D=2", "retime", "linf", 2, 20, 4.0, "PGDTimeShiftAfterEncoder_Lowgpu", {"D": 2}),
    ("B1 6", "retime_l1", "l1", 6, 40, 0.0, "PGDTimeShiftAfterEncoder_L1", {"l1_steps_budget": 6}),
    ("B0 3", "retime_l0", "l0", 3, 40, 0.0, "PGDTimeShiftAfterEncoder_L0", {"l0_moves_budget": 3}),
    (
        "B∞ D=1 dense",
        "retime",
        "linf",
        1,
        20,
        0.0,
        "PGDTimeShiftAfterEncoder",
        {"D": 1, "lambda_cap": 20.0},
    ),
)


def reference_retime(folder: str | Path) -> ModuleType:
    """The reference's ``utils/attack.py`` of the clone in ``folder``, imported as written."""
    classes = sorted({setting[6] for setting in SETTINGS})
    return reference_module(folder, "retime", REFERENCE, classes)


def measure_retime_fidelity(
    folder: str | Path,
    samples: int = 32,
    seed: int = 0,
    spiking_output: bool = False,
    grad: str = "stbp",
) -> dict[str, Any]:
    """The record: per setting, on ``samples`` held-out event digits, the reference's
    one-sample loop and the batched ``retime``, each one's fooled samples and seconds, and
    their identical examples (module docstring); the net with ``spiking_output``
    (:func:`fidelity.nets.event_digits_net`), both sides under the gradient mode ``grad``."""
    reference = reference_retime(folder)
    torch.set_num_threads(1)
    model, x, y = event_digits_net(samples, seed, spiking_output=spiking_output)
    wrapped, cpu = TimeFirst(model), torch.device("cpu")

    with torch.no_grad():
        correct = model(x).argmax(1) == y  # the samples both sides attack

    def fooled(adv: torch.Tensor) -> int:
        with torch.no_grad():
            return int((correct & (model(adv).argmax(1) != y)).sum())

    settings = {}
    for name, config, norm, budget, steps, phi_init, cls, kwargs in SETTINGS:
        params = {**method_params(config, steps), "norm": norm, "budget": budget}
        attack = getattr(reference, cls)(cpu, wrapped, steps=steps, **kwargs)
        with gradient_mode(model, grad):
            start = time.perf_counter()
            ours = Retime(model, **{**params, "phi_init": phi_init})(x, y)
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # its per-step losses: not the JSON
                theirs = torch.cat(
                    [
                        attack(x[i : i + 1].transpose(0, 1), y[i : i + 1]).transpose(0, 1)
                        for i in range(len(y))
                    ]
                )
            ref_seconds = time.perf_counter() - start
        settings[name] = {
            "reference_class": cls,
            "reference": {"fooled": fooled(theirs), "seconds": ref_seconds},
            "batched": {"fooled": fooled(ours), "seconds": seconds},
            "identical": int(((ours == theirs).flatten(1).all(1) & correct).sum()),
        }
    record = per_setting(len(y), seed, spiking_output, grad)
    return {**record, "correct": int(correct.sum()), "settings": settings}


def main(argv: list[str] | None = None) -> None:
    event_comparison(
        "retime",
        __doc__,
        "held-out event digits",
        measure_retime_fidelity,
        lambda record: fidelity_table(record, "retime", "batched"),
        argv,
    )


if __name__ == "__main__":
    main()
