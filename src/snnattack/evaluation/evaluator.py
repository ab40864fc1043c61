"""Attack evaluation through ``Trainer.test``: clean accuracy, then ASR for every attack.

Attack success rate (the README's *What a job does*): the share of the *originally correctly
classified* test samples that the adversarial example makes misclassified, in %; a targeted
row (its method's ``target`` a class or ``random``) also gets its targeted success rate from
the same predictions: the share of those samples of another class than their target class that
the target model classifies as it (docs/event_attacks.md); an ensemble with a targeted
component gets its own, over the samples a targeted component aimed at, where the example it
kept is a targeted component's (:class:`~snnattack.attacks.ensemble.WorstCase`). Counts are
torchmetrics states summed across processes, so the numbers are exact under DDP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import nn
from torchmetrics import Metric

from snnattack.attacks.convergence import curve_counts
from snnattack.attacks.crafting import craft_tracked, eot_draws, grad_mode_of, spiking
from snnattack.attacks.ensemble import ENSEMBLE, Component, worst_case
from snnattack.attacks.methods import METHODS, reads_recordings
from snnattack.attacks.methods.base import LINF
from snnattack.attacks.parse import counts_events, retimes_events
from snnattack.data.base import is_padding
from snnattack.data.recordings import RecordedBatch, Recordings
from snnattack.errors import UserError
from snnattack.evaluation.budget import EventBudget, WorstL0, sample_l0
from snnattack.process.clock import synced_time
from snnattack.process.numerics import manual_seed
from snnattack.records.results import AttackRow
from snnattack.records.tracking import logged
from snnattack.runtime.console import describe_test
from snnattack.settings import AttackSpec, Recipe, row_recipe

# how far an L-infinity attack's examples may lie beyond its radius: the rounding of x + delta
# (half a unit in the last place of 1.0: float32's 6e-8), or the examples' dtype's epsilon
# where it is coarser (bfloat16's 2^-7, float16's 2^-10)
BUDGET_SLACK = 1e-6
# the perturbations' norms are summed in whole units of 2**-32 (int64): integers add alike in
# any order, so a DDP job's mean norms equal one process's bit for bit however the samples are
# split among ranks and batches (float sums did not: their last bits followed the split)
NORM_UNIT = 2.0**-32


def check_radius(spec: AttackSpec, linf_max: float, slack: float = BUDGET_SLACK) -> None:
    """Refuses the examples of the row ``spec`` whose largest L-infinity distance to their
    images, ``linf_max``, exceeds its radius (beyond the rounding ``slack`` of their dtype, at
    least :data:`BUDGET_SLACK`) where its threat model is L-infinity on the inputs (an
    ensemble's: its components'): a method of one's own that forgot to project
    (``torch.clamp(adv, x - eps, x + eps)``) would otherwise be recorded at a radius it did
    not keep."""
    parts = spec.params["components"] if spec.algorithm == ENSEMBLE else [spec]
    methods = [(METHODS[p.algorithm], p.params) for p in parts if p.algorithm in METHODS]
    if not methods or any(m.threat(params) != LINF for m, params in methods):
        return
    if linf_max > spec.eps + max(slack, BUDGET_SLACK):
        raise UserError(
            f"method={spec.method} crafted examples {linf_max * 255:.4g}/255 from their images, "
            f"beyond eps={spec.eps * 255:.4g}/255, the radius of its threat model (L∞ on the "
            "inputs): its row would count them as attacks within eps; accepted: a method whose "
            "examples stay within eps (project them: torch.clamp(adv, x - eps, x + eps))"
        )


def row_seed(seed: int, batch: int, row: str, purpose: str = "craft") -> int:
    """The seed of the draws of row ``row`` (its name, :attr:`AttackSpec.name`: method, box
    and radius) on test batch ``batch`` of a job seeded ``seed``, for ``purpose`` (``craft``:
    the attack's random starts, EOT and encoder draws, queries; ``judge``: an ensemble's
    judging of its candidates): a row's numbers do not depend on which other rows its job
    runs, nor in which order (a seed from its position would move them whenever a method or
    radius is added before it). The gradient mode is not in it: one row under two gradient
    modes starts from the same draws, and a row that reads no gradient mode (the ensemble,
    Square) gives the same numbers under every mode, as ``attack.reuse`` copies it."""
    digest = hashlib.sha256(f"{seed}|{batch}|{row}|{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: any generator takes it


def _fixed(norms: torch.Tensor) -> torch.Tensor:
    """Per-sample perturbation ``norms`` in whole units of :data:`NORM_UNIT` (int64)."""
    return torch.round(norms / NORM_UNIT).long()


class AttackCounts(Metric):
    """Counts of samples, clean-correct, fooled (correct -> wrong) and adversarially correct,
    of a targeted row's aimed samples (clean-correct, of another class than their target) and
    of those classified as their target, sums of the perturbations' L-infinity and L2 norms
    (in :data:`NORM_UNIT`, to 1e-10 of a norm: exact in any order) and of the model queries,
    and the largest L-infinity norm."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        counts = ("n", "n_correct", "n_fooled", "n_adv_correct", "queries", "n_aimed", "n_hit")
        for name in (*counts, "linf_sum", "l2_sum"):  # the norms' sums: in units of NORM_UNIT
            self.add_state(name, default=torch.tensor(0), dist_reduce_fx="sum")
        self.add_state(
            "linf_max", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="max"
        )
        self.slack = 0.0  # the rounding of the perturbations' dtype (the same on every rank)

    def update(
        self,
        clean_correct: torch.Tensor,
        adv_correct: torch.Tensor,
        delta: torch.Tensor | None = None,
        queries: int = 0,
        aimed: torch.Tensor | None = None,
        hit: torch.Tensor | None = None,
    ) -> None:
        """``aimed``/``hit`` (a targeted row's): the clean-correct samples of another class
        than their target, and those of them the adversarial example put in that class."""
        if aimed is not None and hit is not None:
            self.n_aimed += aimed.sum()
            self.n_hit += (aimed & hit).sum()
        self.n += clean_correct.numel()
        self.n_correct += clean_correct.sum()
        self.n_fooled += (clean_correct & ~adv_correct).sum()
        self.n_adv_correct += adv_correct.sum()
        self.queries += queries
        if delta is not None:
            self.slack = max(self.slack, torch.finfo(delta.dtype).eps)  # its dtype's rounding
            flat = delta.flatten(1).double()
            linf = flat.abs().amax(1)
            self.linf_sum += _fixed(linf).sum()
            if linf.numel():
                self.linf_max = torch.maximum(self.linf_max, linf.amax())
            self.l2_sum += _fixed(flat.norm(dim=1)).sum()

    def compute(self) -> dict[str, float | int]:
        n, correct, aimed = int(self.n), int(self.n_correct), int(self.n_aimed)
        return {
            "n": n,
            "n_correct": correct,
            "asr": 100.0 * int(self.n_fooled) / correct if correct else float("nan"),
            "adv_acc": 100.0 * int(self.n_adv_correct) / n if n else float("nan"),
            "clean_acc": 100.0 * correct / n if n else float("nan"),
            "linf": float(self.linf_sum) * NORM_UNIT / n if n else float("nan"),
            "linf_max": float(self.linf_max),
            "l2": float(self.l2_sum) * NORM_UNIT / n if n else float("nan"),
            "queries": int(self.queries) / n if n else float("nan"),
            "n_aimed": aimed,
            "targeted_asr": 100.0 * int(self.n_hit) / aimed if aimed else float("nan"),
        }


class _Sums(Metric):
    """``size`` sums over the batches, of ``dtype``, reduced across processes by ``reduce``."""

    full_state_update = False

    def __init__(self, size: int, dtype: torch.dtype, reduce: str) -> None:
        super().__init__()
        self.add_state("sums", default=torch.zeros(size, dtype=dtype), dist_reduce_fx=reduce)

    def update(self, values: torch.Tensor | float) -> None:
        self.sums += torch.as_tensor(values, dtype=self.sums.dtype).to(self.sums.device)

    def compute(self) -> torch.Tensor:
        return self.sums


class FooledCounts(_Sums):
    """Samples fooled (correct -> wrong) per label: by the running best example at each curve
    count (``attack.steps_curve``), or first by each component of an ensemble."""

    def __init__(self, labels: list) -> None:
        super().__init__(len(labels), torch.long, "sum")
        self.labels = labels

    def per_label(self) -> torch.Tensor:
        """The counts in the order of the labels (torchmetrics gives a single one 0-d)."""
        return self.compute().reshape(-1)

    def curve(self, n_correct: int) -> list[dict[str, float]]:
        """ASR (%) at each count, among the ``n_correct`` clean-correct samples."""
        return [
            {"steps": k, "asr": 100.0 * int(f) / n_correct if n_correct else float("nan")}
            for k, f in zip(self.labels, self.per_label(), strict=True)
        ]


class Seconds(_Sums):
    """Seconds spent per part (a row, or each component of an ensemble row), summed over the
    batches; under DDP the slowest process's (the wall-clock time the processes shared)."""

    def __init__(self, parts: int) -> None:
        super().__init__(parts, torch.float64, "max")


def component_rows(parts: list, firsts: FooledCounts, crafter: nn.Module) -> list[dict[str, Any]]:
    """An ensemble row's components: what each ran on ``crafter`` (an ANN source is
    differentiated as it is, ``ann-autograd``, whatever the component's mode) and how many
    samples it fooled first."""
    modes = [grad_mode_of(part.algorithm, part.grad_mode, crafter) for part in parts]
    return [
        {
            "name": part.name,
            "method": part.method,
            "grad_mode": mode if part.attack is not None else "none",
            "grad_params": part.grad_params if mode == part.grad_mode else {},
            "eot_samples": part.eot_samples,
            "tuned": part.tuned,
            "first_successes": int(n),
        }
        for part, mode, n in zip(parts, modes, firsts.per_label(), strict=True)
    ]


def row_draws(spec: AttackSpec, recipe: Recipe) -> int:
    """The EOT draws per gradient row ``spec`` averaged under its ``recipe``: an ensemble's the
    most one of its components averaged (each crafts with its own draws, not the recipe's)."""
    if spec.algorithm == ENSEMBLE:
        return max((c.eot_samples for c in spec.params["components"]), default=1)
    return eot_draws(spec.algorithm, recipe)


class AttackEvaluator(L.LightningModule):
    """Attacks ``target`` (white box) and transfers from ``source`` (black box).

    Its ``prepare`` (tuning and universal fitting, set by the evaluation core once it is made)
    replaces the specs when the test starts, on the test's device and with every DDP process
    started. Adversarial examples are crafted by ``recipe`` (its gradient mode, time extension,
    EOT draws and curve counts; a row's tuned ``grad_params`` replace the recipe's) on the
    crafting model and always judged on the target. Seeds derive from the recipe's seed and the
    batch's index in the whole test split (batches are dealt out whole under DDP, see
    ``data.base``), so draws do not depend on how many processes share the work: every
    evaluation forward of a batch draws alike (:meth:`_draw`), a row's crafting also from its
    name, not its position (:func:`row_seed`).
    """

    def __init__(
        self,
        target: nn.Module,
        source: nn.Module | None,
        specs: list[AttackSpec],
        recipe: Recipe,
        save_examples: bool = False,
        reused: dict[int, AttackRow] | None = None,
        recordings: Recordings | None = None,
    ) -> None:
        super().__init__()
        if any(s.box == "black" for s in specs) and source is None:
            raise ValueError("black-box attacks need a source model")
        if recordings is None and any(reads_recordings(s.algorithm) for s in specs):
            raise ValueError("an attack on raw events needs the test split's recordings")
        self.recordings = recordings  # the test split's, for attacks on raw events
        self.target, self.source = target, source
        self.specs, self.recipe = specs, recipe
        self.prepare: Callable[[list[AttackSpec]], list[AttackSpec]] | None = None
        self.clean, self.source_clean = AttackCounts(), AttackCounts()
        self.counts = nn.ModuleDict({str(i): AttackCounts() for i in range(len(specs))})
        curves = {
            i: curve_counts(s.algorithm, s.params, recipe.steps_curve) for i, s in enumerate(specs)
        }
        self.curves = nn.ModuleDict({str(i): FooledCounts(c) for i, c in curves.items() if c})
        # the events each event attack changed per success (snnattack.evaluation.budget); an
        # ensemble of event attacks only is one too: its L0 fields, from the examples it kept,
        # and an ensemble of retiming attacks only their retiming
        self.budgets = nn.ModuleDict(
            {
                str(i): EventBudget(
                    retimes_events(s.algorithm, s.params), reads_recordings(s.algorithm)
                )
                for i, s in enumerate(specs)
                if counts_events(s.algorithm, s.params)
            }
        )
        # per box, the worst case over the event attacks this job computes (not reused ones),
        # an ensemble of event attacks among them: a sample it broke is one more minimum
        computed = [
            s for i, s in enumerate(specs) if str(i) in self.budgets and i not in (reused or {})
        ]
        self.worst_specs = {
            box: [s.name for s in computed if s.box == box]
            for box in dict.fromkeys(s.box for s in computed)
        }
        self.worst = nn.ModuleDict({box: WorstL0() for box in self.worst_specs})
        self.event_worst_case: dict[str, Any] = {}
        ensembles = {
            str(i): s.params["components"] for i, s in enumerate(specs) if s.algorithm == ENSEMBLE
        }
        self.firsts = nn.ModuleDict(
            {i: FooledCounts([c.name for c in parts]) for i, parts in ensembles.items()}
        )
        self.seconds = nn.ModuleDict({str(i): Seconds(1) for i in range(len(specs))})
        self.part_seconds = nn.ModuleDict({i: Seconds(len(p)) for i, p in ensembles.items()})
        self.results: list[AttackRow] = []
        self.clean_result: dict[str, Any] = {}
        # seconds per row this job computed (by its name), an ensemble's per component too
        self.timings: dict[str, dict[str, Any]] = {}
        self.save_examples = save_examples
        # rows an earlier job of this sweep computed, by spec position (snnattack.evaluation.reuse)
        self.reused = dict(reused or {})
        # per spec, this process's batches of adversarial examples (attack.save_examples)
        self.examples: list[list[dict[str, torch.Tensor]]] = [[] for _ in specs]
        for p in self.parameters():
            p.requires_grad_(False)

    def on_test_start(self) -> None:
        if self.prepare is not None:
            self.specs = self.prepare(self.specs)

    def _draw(self, batch: int) -> int:
        """The seed of the evaluation forwards of batch ``batch`` (the clean check and the
        target's predictions of every row's examples): one per batch, the same for every row,
        so a Poisson encoder draws the same spikes for the clean check and each attack."""
        return (self.recipe.seed * 1_000_003 + batch) * 1_009

    def _predict(self, model: nn.Module, x: torch.Tensor, seed: int) -> torch.Tensor:
        """The classes ``model`` gives ``x``, its forward drawing from ``seed``."""
        manual_seed(seed)
        with torch.no_grad():
            return model(x).argmax(1)

    def _judge(self, x: torch.Tensor, batch: int, row: int) -> torch.Tensor:
        """The target's classes of the ensemble's candidates ``x`` of row ``row``, on a draw of
        their own, the crafting's generators left as they were: on the scoring draw a random
        forward (Poisson inputs) would keep the candidates that draw happened to misclassify,
        and the next component would craft on its spikes."""
        cuda = [x.device.index or 0] if x.is_cuda else []  # the generator the forward draws from
        with torch.random.fork_rng(cuda):
            seed = row_seed(self.recipe.seed, batch, self.specs[row].name, "judge")
            return self._predict(self.target, x, seed)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        if is_padding(self.trainer.test_dataloaders):  # a rank with no batch of its own
            return
        x, y = batch
        index = batch_idx * self.trainer.world_size + self.trainer.global_rank  # in the split
        correct = self._predict(self.target, x, self._draw(index)) == y
        self.clean.update(correct, correct)
        if self.source is not None:
            source_correct = self._predict(self.source, x, self._draw(index)) == y
            self.source_clean.update(source_correct, source_correct)
        least = {
            box: torch.full((len(y),), float("inf"), dtype=torch.float64, device=x.device)
            for box in self.worst
        }
        for i, spec in enumerate(self.specs):
            if i in self.reused:
                continue
            crafter = self.target if spec.box == "white" else self.source
            label = f"{spec.method} {spec.box} box ε={spec.eps * 255:g}/255"
            describe_test(self.trainer, label)
            manual_seed(row_seed(self.recipe.seed, index, spec.name))  # the row's own draws
            started = synced_time(x.device)  # CUDA: the row's queued work counted in it
            recorded = None  # the raw recordings a single row attacks (gsattack)
            if reads_recordings(spec.algorithm):
                first = index * self.trainer.test_dataloaders.batch_size  # in the test split
                recorded = self.recordings.batch(range(first, first + len(y)))
            if spec.algorithm == ENSEMBLE:
                parts = spec.params["components"]
                worst = worst_case(
                    parts,
                    crafter,
                    partial(self._judge, batch=index, row=i),
                    x,
                    y,
                    correct,
                    spec.eps,
                    self.recipe.time_extension,
                    partial(self._component_started, label, len(parts)),
                )
                adv, queries, goals = worst.adv, worst.queries, worst.goals
                aimed = worst.aimed  # by a targeted component (goals: the kept one's, or -1)
                self.firsts[str(i)].update(worst.firsts)
                self.part_seconds[str(i)].update(worst.seconds)
            else:
                adv, queries, goals = self._craft(i, spec, crafter, x, y, correct, index, recorded)
                aimed = None if goals is None else correct & (y != goals)
            self.seconds[str(i)].update(synced_time(x.device) - started)
            adv_pred = self._predict(self.target, adv, self._draw(index))
            # a targeted row: the same predictions, judged against each sample's target class
            # (the black box's too: the target model must put it there, not merely err)
            hit = None if goals is None else adv_pred == goals
            self.counts[str(i)].update(correct, adv_pred == y, adv - x, queries, aimed, hit)
            if str(i) in self.budgets:
                fooled = correct & (adv_pred != y)
                changes = recorded.changes[-1] if recorded is not None else None
                self.budgets[str(i)].update(fooled, adv - x, x, changes)
                l0 = sample_l0(adv - x).where(fooled, float("inf"))
                least[spec.box] = torch.minimum(least[spec.box], l0)
            if self.save_examples:
                first = index * self.trainer.test_dataloaders.batch_size  # in the test split
                self.examples[i].append(
                    {
                        "adv": adv.detach().cpu(),
                        "labels": y.cpu(),
                        "preds": adv_pred.cpu(),
                        "correct": correct.cpu(),  # the samples the row's ASR counts
                        "indices": first + torch.arange(len(y)),
                        # an event attack's figure marks the events it changed on the clean frames
                        **({"clean": x.detach().cpu()} if str(i) in self.budgets else {}),
                        # a targeted row's: each sample's class (-1: none), what its rate counts
                        **(
                            {"targets": goals.cpu(), "aimed": aimed.cpu()}
                            if goals is not None and aimed is not None
                            else {}
                        ),
                    }
                )
        for box, l0 in least.items():
            self.worst[box].update(l0)

    def _component_started(self, label: str, count: int, j: int, part: Component) -> None:
        """Names the progress bar's task after the ensemble component ``j`` of ``count``."""
        describe_test(self.trainer, f"{label}: {part.name} ({j + 1}/{count})")

    def gathered_examples(self) -> list[list[dict[str, torch.Tensor]]]:
        """Every process's saved examples per spec on rank 0, the one that writes them (a
        collective call under DDP); another rank keeps its own: it sends them to rank 0 only,
        not every rank's to every rank."""
        if self.trainer.world_size == 1:
            return self.examples
        zero = self.trainer.is_global_zero
        everyone: list[Any] | None = [None] * self.trainer.world_size if zero else None
        torch.distributed.gather_object(self.examples, everyone, dst=0)
        if everyone is None:
            return self.examples
        return [[part for rank in everyone for part in rank[i]] for i in range(len(self.specs))]

    def _craft(
        self,
        i: int,
        spec: AttackSpec,
        crafter: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        correct: torch.Tensor,
        index: int,
        recorded: RecordedBatch | None = None,
    ) -> tuple[torch.Tensor, int, torch.Tensor | None]:
        """Spec ``i``'s adversarial batch, queries and each sample's target class (None:
        untargeted; an attack on the raw events changes the ``recorded`` batch); its curve
        counts are updated."""
        curve = self.curves[str(i)] if str(i) in self.curves else None
        recipe = replace(
            row_recipe(self.recipe, spec),
            steps_curve=tuple(curve.labels) if curve is not None else (),
        )
        params = spec.params if recorded is None else {**spec.params, "recordings": recorded}
        adv, queries, snapshots, goals = craft_tracked(
            spec.algorithm, crafter, x, y, spec.eps, params, recipe
        )
        if curve is not None:
            fooled = [
                (correct & (self._predict(self.target, snapshots[k], self._draw(index)) != y)).sum()
                for k in curve.labels
            ]
            curve.update(torch.stack(fooled))
        return adv, queries, goals

    def on_test_epoch_end(self) -> None:
        if self.save_examples:
            self.examples = self.gathered_examples()
        clean = self.clean.compute()
        self.clean_result = {"clean_acc": clean["clean_acc"], "n": clean["n"]}
        self.log("clean_acc", logged(clean["clean_acc"]))
        if self.source is not None:
            source_acc = self.source_clean.compute()["clean_acc"]
            self.clean_result["source_clean_acc"] = source_acc
            self.log("source_clean_acc", logged(source_acc))
        self.results = []
        for i, spec in enumerate(self.specs):
            self.results.append(self.reused[i] if i in self.reused else self._row(i, spec))
            row = self.results[-1]
            self.log(f"asr/{spec.name}", logged(row.asr))
            if row.targeted_asr is not None:  # a targeted row's: as its W&B summary names it
                self.log(f"targeted_asr/{spec.name}", logged(row.targeted_asr))
            self.log(f"adv_acc/{spec.name}", logged(row.adv_acc))
        self.event_worst_case = {
            box: self.worst[box].summary(names, clean["n_correct"])
            for box, names in self.worst_specs.items()
        }
        self.timings = {
            spec.name: self._timing(i, spec)
            for i, spec in enumerate(self.specs)
            if i not in self.reused
        }

    def _timing(self, i: int, spec: AttackSpec) -> dict[str, Any]:
        """Spec ``i``'s seconds in this job: the whole row's, and an ensemble's per component
        (0 for one that had no sample left)."""
        timing: dict[str, Any] = {"total": round(float(self.seconds[str(i)].compute().sum()), 4)}
        if spec.algorithm == ENSEMBLE:
            parts = spec.params["components"]
            spent = self.part_seconds[str(i)].compute().reshape(-1)
            timing["components"] = {
                p.name: round(float(t), 4) for p, t in zip(parts, spent, strict=True)
            }
        return timing

    def _row(self, i: int, spec: AttackSpec) -> AttackRow:
        """Spec ``i``'s row from this job's counts, refused where an L-infinity method's
        examples left its budget: the row would count them as attacks within ``eps``."""
        c = self.counts[str(i)].compute()
        check_radius(spec, c["linf_max"], self.counts[str(i)].slack)
        crafter = self.target if spec.box == "white" else self.source
        ensemble = spec.algorithm == ENSEMBLE
        grad_mode = (
            ENSEMBLE if ensemble else grad_mode_of(spec.algorithm, self.recipe.grad_mode, crafter)
        )
        curve = self.curves[str(i)] if str(i) in self.curves else None
        return AttackRow(
            method=spec.method,
            eps=spec.eps,
            eps_255=round(spec.eps * 255, 6),
            box=spec.box,
            grad_mode=grad_mode,
            asr=c["asr"],
            adv_acc=c["adv_acc"],
            n_correct=c["n_correct"],
            n=c["n"],
            targeted_asr=c["targeted_asr"] if spec.targeted else None,
            n_targeted=c["n_aimed"] if spec.targeted else None,
            linf=c["linf"],
            l2=c["l2"],
            queries=c["queries"],
            time_extension=self.recipe.time_extension if spiking(crafter) else 1,  # ANN: none
            eot_samples=row_draws(spec, row_recipe(self.recipe, spec)),
            asr_curve=curve.curve(c["n_correct"]) if curve is not None else None,
            components=component_rows(spec.params["components"], self.firsts[str(i)], crafter)
            if ensemble
            else None,
            grad_params=spec.grad_params,
            tuned=spec.tuned,
            **(
                self.budgets[str(i)].summary(self.recipe.l0_thresholds)
                if str(i) in self.budgets
                else {}
            ),
        )
