"""The per-key rules that name no kind: numbers, switches and fixed words.

Importing this module loads neither torch nor Lightning, so the command line checks the values
it is given against these rules before the job's stack loads
(:func:`snnattack.runtime.cli.check_values`): ``python run.py lambda=1.5`` is refused in about
a second, not after the ~14 s of imports a job needs. The validation checks every key again,
with the rules that name kinds (:mod:`snnattack.config.rules`); both check by
:func:`check_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from snnattack.records.cosmetic import default_cosmetic
from snnattack.settings import BOXES, FORMATS, LOSSES, WANDB_MODES
from snnattack.values import (
    BOOL,
    MAX_THREADS,
    RULES,
    Bare,
    Rule,
    declare,
    either,
    integer,
    is_int,
    is_real,
    list_rule,
    matches,
    one_of,
    optional,
    real,
    whole_if_integral,
)

LISTS = ("eps",)  # keys whose bare value counts as a list of one (eps=8 is eps=[8])


def listed(key: str, value: Any) -> Any:
    """``value`` of ``key`` as its rule reads it: a bare value of a key of :data:`LISTS` as a
    list of one (a :class:`~snnattack.values.Bare`, which a message spells as typed)."""
    return Bare([value]) if key in LISTS and not isinstance(value, list) else value


WANDB_BANNED = "/\\#?%:"  # the characters W&B refuses in a project's name
MAX_SEED = 2**32 - 1  # numpy's (and Lightning's) largest seed
# the trainer precisions a job runs in: float32 only. The gradient modes' autograd Functions and
# the C kernels have no half or bfloat16 path (a lower precision would fail, or attack in fp16
# silently); 64-bit was never run through a job (docs/running.md)
PRECISIONS = ("32-true", "32")


NAME = Rule(lambda v: isinstance(v, str) and bool(v), "a non-empty name")
SEED = integer(0, MAX_SEED)
BATCHES = optional(either(integer(1), real(0, 1, lo_open=True)))
# a radius or step size > 0 in 1/255 units, spelt as an integer where it is one (as its
# defaults are: train.adversary.eps 16), so 16 and 16.0 are one store key
RADIUS = real(0, 255, lo_open=True, spelling=whole_if_integral)
# a model file's path: text (checkpoint=123 is a number, a file named so is quoted: '123');
# that the file exists and loads is checked before any work (config/preflight.py)
MODEL_FILE = optional(Rule(NAME.test, f"the path of a model file ({FORMATS})", "is not a path"))


def fraction_note(key: str, value: float) -> list[str]:
    """The note on a radius below 1 in 1/255 units (torchattacks' ``eps=8/255`` given as this
    project's ``eps=8``), one line; none for another value."""
    if not 0 < value < 1:
        return []
    return [
        f"{key}={value} is {value}/255 = {value / 255:.2g} of the pixel range ({key} is in "
        f"1/255 units, {key}=8 is 8/255); {value} of the range is {key}={value * 255:.4g}"
    ]


MAX_TAG = 64  # W&B's longest tag
DEVICES = Rule(
    lambda v: v in ("auto", "cpu", "gpu", "cuda") or bool(re.fullmatch(r"cuda:\d+", str(v))),
    "auto, cpu, gpu, cuda or cuda:N",
    "is unknown",
)


def _is_tag(value: object) -> bool:
    return isinstance(value, str | int | float) and 1 <= len(str(value)) <= MAX_TAG


def _tag_problem(value: Any, spell: Callable[[Any], str]) -> str:
    """What is wrong with ``tags``: the first tag it holds that is no text (``null``, a list:
    a W&B tag is a word) or of the wrong length, so the message names it, not "out of
    range"."""
    if not isinstance(value, list):
        return "is out of range" if isinstance(value, str | int | float) else "is not a list"
    bad = next(v for v in value if not _is_tag(v))
    if not isinstance(bad, str | int | float):
        return f"holds {spell(bad)}, which is not text (a tag is a word)"
    return f"holds {spell(bad)}, of {len(str(bad))} characters"


def _per_channel(test: Callable[[Any], bool], numbers: str) -> Rule:
    """null or a non-empty list of ``numbers`` (each one that ``test`` accepts), one per input
    channel (``dataset.mean``, ``dataset.std``)."""
    return optional(
        Rule(
            lambda v: isinstance(v, list) and bool(v) and all(map(test, v)),
            f"a list of {numbers}, one per input channel",
            f"is not a list of {numbers}",
        )
    )


def _not_read(accepted: str) -> Rule:
    """The rule of a block of experiments/ files that jobs do not read: only a dict, whose
    keys are its own, so any value in its place is refused."""
    return Rule(lambda v: False, accepted, "is not a dict")


PLAIN: dict[str, Rule] = {  # key: its rule, declared below
    # neuron and simulation
    "T": integer(1),
    "lambda": real(0, 1, lo_open=True),
    "theta": real(0, lo_open=True),
    "compile": BOOL,
    "tf32": BOOL,
    "deterministic": BOOL,
    # attack evaluation
    "eps": list_rule(  # a radius twice would attack and report its rows twice
        real(0, 255),
        "a list of distinct numbers in [0, 255] in units of 1/255, e.g. eps=[8,16]",
    ),
    "boxes": list_rule(
        one_of(*BOXES),
        "a non-empty subset of [white, black], each once",
    ),
    "eval_batch_size": integer(1),
    "source_seed_offset": Rule(
        integer(1, MAX_SEED).test,
        f"an integer in [1, {MAX_SEED}] (0 makes the black-box source the target itself)",
        form=is_int,
        kind="an integer",
    ),
    "seed": SEED,
    # training recipe
    "train.epochs": integer(1),
    "train.batch_size": integer(1),
    "train.lr": real(0, lo_open=True),
    "train.momentum": real(0, 1),
    "train.weight_decay": real(0),
    "train.nesterov": BOOL,
    "train.surrogate_width": real(0, lo_open=True),
    "train.conversion.percentile": real(0, 100, lo_open=True),
    "train.conversion.batches": integer(1),
    "train.hybrid.epochs": integer(1),
    "train.hybrid.lr": real(0, lo_open=True),
    "train.hybrid.threshold_scale": real(0, lo_open=True),
    "train.adversary.eps": RADIUS,
    "train.adversary.alpha": optional(RADIUS),
    "train.adversary.steps": integer(1),
    "train.adversary.beta": real(0),
    # SNN-RAT's retraction W <- (1 + reg) W - reg W W^T W converges for reg < 1 only
    "train.adversary.reg": real(0, 1, hi_open=True),
    "train.adversary.ramp_epochs": integer(0),
    "source_lambda": optional(real(0, 1, lo_open=True)),
    "source_T": optional(integer(1)),
    "checkpoint": MODEL_FILE,
    "source_checkpoint": MODEL_FILE,
    "encoding_levels": optional(integer(2)),
    # attack: gradient mode (its parameters: their ranges, gradients/<mode>.py) and methods
    "attack.time_extension": integer(1),
    "attack.eot_samples": integer(1),
    "attack.random_eot_samples": optional(integer(1)),
    "attack.tune.enabled": BOOL,
    "attack.tune.val_size": integer(1),
    "attack.tune.max_points": integer(1),
    "attack.l0_thresholds": list_rule(
        integer(1),
        "a non-empty list of distinct event counts >= 1, e.g. attack.l0_thresholds=[200,800]",
    ),
    "attack.steps_curve": list_rule(
        integer(1),
        "a list of distinct iteration counts >= 1, e.g. attack.steps_curve=[5,10,20]",
        empty=True,
    ),
    "method.*.poisson_eot_samples": integer(1),
    "method.*.momentum": real(0, 1),
    "method.*.second_moment": real(0, 1),
    "method.*.first_halving": real(0, 1, lo_open=True),
    "method.*.halving_shrink": real(0, 1),
    "method.*.min_halving": real(0, 1, lo_open=True),
    "attack.save_examples": BOOL,
    "attack.reuse": BOOL,
    "attack.fold_bn": BOOL,
    "method.*.steps": integer(1),
    "method.*.alpha": optional(RADIUS),
    "method.*.eps_per_alpha": real(0, lo_open=True),
    "method.*.random_start": BOOL,
    "method.*.decay": real(0),
    "method.*.n_restarts": integer(1),
    "method.*.loss": one_of(*LOSSES),
    "method.*.rho": real(0, 1, lo_open=True),
    "method.*.n_queries": integer(1),
    "method.*.p_init": real(0, 1, lo_open=True),
    "method.*.n_classes": integer(2),
    "method.*.seed": SEED,
    "method.*.k_init": integer(1),
    "method.*.n_iter": integer(1),
    "method.*.batch_limit": integer(1),
    # sparsefool, spike_grad, event_patch (docs/event_attacks.md)
    "method.*.max_hamming_distance": integer(1),
    "method.*.lam": real(1),
    "method.*.max_iter": integer(1),
    "method.*.overshoot": real(0),
    "method.*.step_size": real(0, lo_open=True),
    "method.*.max_iter_deep_fool": integer(1),
    "method.*.trigger_rate": real(0, 1),
    "method.*.area": real(0, 1, lo_open=True),
    "method.*.placement": one_of("random", "receptive_field"),
    "method.*.kappa": real(0),
    "method.*.lr": real(0, lo_open=True),
    "method.*.lr_period": integer(1),
    "method.*.max_tau": real(0, lo_open=True),
    "method.*.min_tau": real(0, lo_open=True),
    "method.*.decay_step": integer(1),
    "method.*.alpha_boundary": real(0, lo_open=True),
    "method.*.max_grad_norm": real(0, lo_open=True),
    "method.*.insert_ratio": real(0),
    # event_patch_universal (docs/event_attacks.md)
    "method.*.epochs": integer(1),
    "method.*.batch_size": integer(1),
    "method.*.max_iteration": integer(1),
    "method.*.threshold": real(0, 1),
    # sparsefool_universal (docs/event_attacks.md)
    "method.*.rounds": integer(1),
    "method.*.eviction": one_of("heatmap", "random"),
    # retime (docs/event_attacks.md)
    "method.*.budget": integer(1),
    "method.*.alpha_phi": real(0, lo_open=True),
    "method.*.lam_cap": real(0),
    "method.*.budget_weight": real(0),
    "method.*.temperature": real(0, lo_open=True),
    "method.*.phi_init": real(-10, 10),
    # data
    "dataset.num_classes": integer(2),
    "dataset.in_channels": integer(1),
    "dataset.image_size": integer(1),
    "dataset.threads": either(integer(1, MAX_THREADS), one_of("auto")),
    "dataset.params.num_workers": integer(0),
    "dataset.params.split_seed": SEED,
    "dataset.params.test_fraction": real(0, 1, lo_open=True, hi_open=True),
    "dataset.params.val_fraction": real(0, 1, lo_open=True, hi_open=True),
    "dataset.mean": _per_channel(is_real, "numbers"),
    "dataset.std": _per_channel(lambda x: is_real(x) and x > 0, "numbers > 0"),
    "dataset.params.val_size": integer(1),
    "dataset.params.crop_padding": integer(0),
    "dataset.params.cutout_holes": integer(0),
    "dataset.params.cutout_length": integer(0),
    "dataset.params.train_size": integer(1),
    "dataset.params.frames": integer(1),
    "dataset.params.size": integer(1),
    "dataset.params.count_scale": real(0, lo_open=True),
    # digits_events' simulated sensor: 256 pixels a side shift the digits in 3 GB (and record
    # them in about 5 minutes, saying how far every 10 s), 2048 in 60
    "dataset.params.sensor": integer(2, 256),
    "dataset.params.image_size": integer(1),
    "dataset.params.amplitude": real(0, lo_open=True),
    # digits_events' samples per saccade: each is simulated for every digit (about 23 ms on
    # one core), so 2000 (50 µs apart) take about 45 s, while the events' count stops growing
    # by 200 and finer steps only move their times within a frame's bin; 100000 (one a µs,
    # the events' time unit) would take about 40 minutes in silence, 10**12 allocated 7 TiB
    "dataset.params.steps": integer(1, 2000),
    "dataset.params.threshold": real(0, lo_open=True),
    "dataset.params.threshold_mismatch": real(0, 1),
    "dataset.params.background": real(0, lo_open=True),
    "dataset.params.noise_rate": real(0),
    "dataset.params.event_seed": SEED,
    "dataset.params.download": BOOL,
    "dataset.params.augment": BOOL,
    # Lightning Trainer (Lightning reads some values in its own way: max_epochs=-1 = forever)
    "trainer.accelerator": one_of("auto", "cpu", "gpu", "cuda", "mps", "tpu"),
    "trainer.devices": either(integer(1), one_of("auto")),
    "trainer.num_nodes": integer(1),
    "trainer.precision": Rule(
        lambda v: str(v) in PRECISIONS,
        ", ".join(PRECISIONS) + " (attacks and training run in float32)",
        "is not supported",
    ),
    "trainer.max_epochs": integer(1),
    "trainer.limit_train_batches": BATCHES,
    "trainer.limit_val_batches": BATCHES,
    "trainer.limit_test_batches": BATCHES,
    "trainer.enable_progress_bar": BOOL,
    "trainer.enable_model_summary": BOOL,
    "trainer.log_every_n_steps": integer(1),
    "trainer.accumulate_grad_batches": integer(1),
    "trainer.gradient_clip_val": optional(real(0)),
    # loggers and the store
    "logger.csv": BOOL,
    "logger.wandb.mode": one_of(*WANDB_MODES),
    "logger.wandb.quiet": BOOL,
    "logger.wandb.project": Rule(
        lambda v: isinstance(v, str) and 0 < len(v) <= 128 and not set(v) & set(WANDB_BANNED),
        f"a name of 1 to 128 characters without {' '.join(WANDB_BANNED)} (W&B's rule)",
    ),
    "logger.wandb.group": optional(
        Rule(lambda v: isinstance(v, str) and 0 < len(v) <= 128, "a name of 1 to 128 characters")
    ),
    "logger.wandb.entity": optional(
        Rule(lambda v: isinstance(v, str) and bool(v), "a W&B team or user name", "is not a name")
    ),
    "logger.wandb.init_timeout": real(0, lo_open=True),
    "store.dir": NAME,
    # experiments/ files' blocks that jobs do not read (the report, the sweeps, the benchmark)
    "paper": _not_read("a dict of the paper's numbers by table (experiments/ files)"),
    "kinds": _not_read("a dict of per-kind values, e.g. kinds.T.ann=1"),
    "benchmark": _not_read("a dict of the benchmark's protocol and model"),
    "cosmetic_keys": Rule(
        # the package's own (conf/config.yaml): a key listed beside them could change a result,
        # and the jobs that differ in it would share a stored model and a relaunch
        lambda v: isinstance(v, list) and all(k in default_cosmetic() for k in v),
        lambda: (
            "a list of keys that change no result, of conf/config.yaml's: "
            + ", ".join(sorted(default_cosmetic()))
        ),
        "lists a key that changes results",
        form=lambda v: isinstance(v, list),
        kind="a list",
    ),
    "threads": either(integer(1, MAX_THREADS), one_of("auto")),
    "trainer.strategy": Rule(
        lambda v: v in ("auto", "ddp") or str(v).startswith("ddp_find"),
        "auto or ddp (e.g. trainer=ddp, trainer=ddp_cpu); ddp_spawn is "
        "refused: spawned processes cannot share the checkpoint store",
        "is not supported",
    ),
    "tags": Rule(
        lambda v: _is_tag(v) or (isinstance(v, list) and all(map(_is_tag, v))),
        f"a list of words of 1 to {MAX_TAG} characters, e.g. tags=[baseline,v2]",
        _tag_problem,
    ),
    # analyses (analysis=[...]; conf/analysis/)
    "analysis.*.device": DEVICES,
    "analysis.*.batch_size": integer(1),
    "analysis.*.repeats": integer(1),
    "analysis.*.layer": integer(0),
    # the points are kept in metrics.json, ~50 bytes each: 200,000 make 10 MB (5e6 made 250 MB)
    "analysis.*.n_points": integer(1, 200_000),
    "analysis.*.seed": SEED,
    "analysis.*.limit_batches": BATCHES,
    "analysis.*.static_max": real(0, lo_open=True),
    "analysis.*.static_points": integer(2, 100_000),  # a curve, not a sample: 301 by default
    "checks.memory": BOOL,
    "checks.memory_factor": real(0, lo_open=True),
    "checks.masking.enabled": BOOL,
    "checks.masking.probe_size": integer(1),
    "checks.masking.zero_grad_share": real(0, 1),
    "checks.masking.unbounded_steps": integer(1),
    "checks.masking.unbounded_asr": real(0, 100),
    "checks.masking.tolerance": real(0),
    "checks.masking.flip_draws": integer(1),
}
declare(PLAIN, order=0)


def check_rules(values: Iterable[tuple[str, Any]], rules: Mapping[str, Rule] | None = None) -> None:
    """Checks every (dotted key, value) against the rules whose pattern it matches (of
    ``rules``; None: every declared rule, :data:`RULES`, in order). A key may come with
    several values (each of a sweep's)."""
    values = list(values)
    by_key: dict[str, list[Any]] = {}
    for key, value in values:
        by_key.setdefault(key, []).append(value)
    for pattern, rule in (RULES if rules is None else rules).items():
        if "*" not in pattern:  # one key: looked up
            for value in by_key.get(pattern, ()):
                rule.check(pattern, value)
            continue
        for key, value in values:
            if matches(key, pattern):
                rule.check(key, value)
