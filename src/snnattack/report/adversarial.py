"""The adversarial-training part of a report: clean vs robust accuracy per training recipe, its
cost, and robust accuracy against training cost (the Pareto plot defenders look for).

A trained model (its store key) is attacked by several jobs (one per gradient mode of
``attack=``, each with several methods). Its robust accuracy is the worst adversarial
accuracy of all of them at each ε and box: the strongest evaluation of the sweep, taken per
attack (not per sample). A recipe is the adversary's method and gradient mode (``standard``
without an adversary, ``+RAT`` with the regulariser); its numbers are the mean ± std over the
seeds of its models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from snnattack.records.results import attack_label  # noqa: E402
from snnattack.report import figures  # noqa: E402
from snnattack.report.collect import SETTING_KEYS, Job  # noqa: E402
from snnattack.report.figures import register as register_figure  # noqa: E402
from snnattack.report.figures import setting_order  # noqa: E402
from snnattack.report.tables import (  # noqa: E402
    SHORT,
    Table,
    by_training,
    fmt,
    fmt_stat,
    group,
    matching,
    mean_std,
    register,
    setting_text,
)
from snnattack.settings import BOXES  # noqa: E402


@dataclass
class Model:
    """One trained target model and the worst result of every attack on it."""

    recipe: str
    adversary_mode: str
    seed: Any
    setting: str
    clean: float | None
    record: dict[str, Any]
    trained: dict[str, Any]  # its training settings but the seeds (Job.trained_as)
    place: tuple  # its setting's values (Job.simulated's), which order the rows
    worst: dict[tuple[str, float], tuple[float, str]] = field(default_factory=dict)

    def robust(self, box: str, eps: float) -> float | None:
        return self.worst.get((box, eps), (None, ""))[0]


def recipe_of(job: Job) -> tuple[str, str]:
    """(recipe name, adversary gradient mode) a job's target was trained with (its store
    spec's ``train``, the config's for a model without one): ``standard``, ``pgd``,
    ``fgsm+RAT``, ..., with the kind of training where it is not STBP (``pgd (hybrid)``);
    the mode is ``–`` without an adversary, and ``ANN`` where the adversary crafts on an ANN
    (``train.kind`` ann, conversion: its own gradient; ``grad_mode`` unread)."""
    train = (job.target_spec or job.config).get("train") or {}
    adversary = train.get("adversary") or {}
    kind_name = train.get("kind") or "stbp"
    suffix = "" if kind_name == "stbp" else f" ({kind_name})"
    if adversary.get("method") is None:
        return f"standard{suffix}", "–"
    name = adversary["method"] + ("+RAT" if (adversary.get("reg") or 0) > 0 else "") + suffix
    from snnattack.training import STRATEGIES  # only here: it imports torch

    kind = STRATEGIES.get(kind_name)
    if kind is not None and not kind.trains_at_T:
        return name, "ANN"
    return name, adversary.get("grad_mode") or "stbp"


def models(jobs: list[Job]) -> list[Model]:
    """The trained targets of the jobs (as simulated: :attr:`Job.simulated`), each with its
    worst attack results; empty unless some job's target was adversarially trained."""
    if not any(recipe_of(j)[1] != "–" for j in jobs):
        return []
    found: dict[tuple, Model] = {}
    named = [k for k in SETTING_KEYS[3:] if len({fmt(j.setting(k)) for j in jobs}) > 1]
    for j in jobs:
        target = j.record.models.get("target") or {}
        key = j.simulated  # a converted model's T sweep: a model per T (per reset, ...)
        if key not in found:
            words = [f"{SHORT.get(k, k)}={setting_text(k, j.setting(k))}" for k in named]
            said = [str(j.setting("dataset")), str(j.setting("model")), f"T={j.setting('T')}"]
            setting = " ".join([*said, *words])
            seed, clean, trained = j.setting("seed"), j.record.clean_acc, j.trained_as()
            found[key] = Model(*recipe_of(j), seed, setting, clean, target, trained, key[1:])
        model = found[key]
        for r in j.record.results:
            where, attack = (r.box, r.eps_255), attack_label(r.method, r.grad_mode)
            if r.adv_acc is not None and (
                where not in model.worst or r.adv_acc < model.worst[where][0]
            ):
                model.worst[where] = (r.adv_acc, attack)
    return list(found.values())


def recipes(found: list[Model]) -> dict[tuple[str, str, str], list[Model]]:
    """The models per (setting, recipe, adversary mode), standard first."""
    out = group(((m.setting, m.recipe, m.adversary_mode), m) for m in found)
    split = by_training(out, lambda m: m.trained)
    rows = {
        (f"{setting}, {variant}" if variant else setting, recipe, mode): ms
        for ((setting, recipe, mode), variant), ms in split.items()
    }

    def order(row: tuple[tuple[str, str, str], list[Model]]) -> tuple:  # T = 4, 8, 16 by value
        (setting, recipe, _), ms = row
        return (setting_order(ms[0].place), setting, not recipe.startswith("standard"), row[0])

    return dict(sorted(rows.items(), key=order))


def _eps_values(found: list[Model]) -> list[float]:
    return sorted({eps for m in found for (_, eps) in m.worst})


def _cost(ms: list[Model], key: str, digits: int = 1) -> str:
    return fmt_stat(mean_std(m.record.get(key) for m in ms), digits)


@register("adversarial", order=70)
def adversarial_table(jobs: list[Job], paper: list[dict]) -> Table | None:
    """Clean vs robust accuracy (worst attack, white and black box) and training cost per
    recipe; a ``(paper)`` row under each recipe the paper reports (``adversary``: name)."""
    found = models(jobs)
    if not found:
        return None
    eps_values = _eps_values(found)
    rows = []
    for (setting, recipe, mode), ms in recipes(found).items():
        robust = []
        for eps in eps_values:
            for box in BOXES:
                stat = mean_std(m.robust(box, eps) for m in ms)
                worst = sorted({m.worst[(box, eps)][1] for m in ms if (box, eps) in m.worst})
                robust.append(fmt_stat(stat) + (f" ({', '.join(worst)})" if worst else ""))
        clean = fmt_stat(mean_std(m.clean for m in ms))
        craft, update = _cost(ms, "train_craft_seconds"), _cost(ms, "train_update_seconds")
        gradients = _cost(ms, "adversary_gradients_per_epoch", 0)
        rows.append([setting, recipe, mode, clean, *robust, craft, update, gradients, str(len(ms))])
        if ref := matching(paper, {"adversary": recipe}):
            blanks = ["–"] * (2 * len(eps_values) + 3)  # the other robust columns, cost, seeds
            reported = [fmt(ref.get("clean")), fmt(ref.get("pgd"))]
            rows.append(["(paper)", recipe, "", *reported, *blanks])
    columns = [
        "setting",
        "adversary",
        "adversary grad",
        "clean acc",
        *(f"robust {box[0].upper()}B ε={fmt(eps)}" for eps in eps_values for box in BOXES),
        "craft s",
        "update s",
        "adv. gradients / epoch",
        "seeds",
    ]
    note = (
        "robust = the worst adversarial accuracy (%) over every attack method and gradient mode "
        "of the sweep (the attack that reached it in brackets), mean ± std over seeds; craft / "
        "update s = training time spent crafting examples / on the update (summed over epochs); "
        "adversary gradients = input-gradient evaluations (samples x steps) per epoch"
    )
    return Table("Adversarial training: clean vs robust accuracy and cost", columns, rows, note)


@register_figure(
    "robust_vs_cost",
    order=90,
    caption=(
        "White-box robust accuracy at the largest ε against training time (crafting + "
        "update), a point per training recipe, and its Pareto front."
    ),
)
def robust_vs_cost(jobs: list[Job], path: Path) -> Path | None:
    """White-box robust accuracy at the largest ε against training time (crafting + update),
    a point per recipe (mean ± std over seeds), its Pareto front drawn as a line."""
    found = models(jobs)
    if not found:
        return None
    eps = _eps_values(found)[-1]
    fig, ax = plt.subplots(figsize=(7.5, 4))
    points = []
    rows = recipes(found)
    several = len({setting for setting, _, _ in rows}) > 1
    for (setting, recipe, mode), ms in rows.items():
        cost = mean_std(m.record.get("train_loop_seconds") for m in ms)
        robust = mean_std(m.robust("white", eps) for m in ms)
        if cost is None or robust is None:
            continue
        label = (recipe if mode == "–" else f"{recipe} @ {mode}") + (
            f" ({setting})" if several else ""
        )
        ax.errorbar(cost[0], robust[0], xerr=cost[1], yerr=robust[1], fmt="o", label=label)
        points.append((cost[0], robust[0]))
    front, best = [], float("-inf")
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if y > best:
            front.append((x, y))
            best = y
    if len(front) > 1:
        ax.plot(*zip(*front, strict=True), "k--", lw=0.8, label="Pareto front")
    ax.set_xlabel("training time: crafting + update (s)")
    ax.set_ylabel(f"white-box robust accuracy at ε={fmt(eps)}/255 (%)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # off the points
    return figures._save(fig, path)
