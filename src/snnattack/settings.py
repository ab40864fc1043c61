"""A job's settings as frozen dataclasses, built once from the validated config.

:func:`snnattack.job.run` validates the config (:mod:`snnattack.config`) and then builds one
:class:`JobSettings`; below ``job.py`` the attacks, the evaluation, the data and the analyses
receive these typed settings instead of the whole config tree. Only the seams that need the
resolved tree itself read the config: the checkpoint store's key and the training recipes
(``training/``, ``source.py``), the result spec and record (``records/results.py``), the
sweep's row keys (``evaluation/reuse.py``), W&B names (``records/tracking.py``), and the rows a
config asks for (``attacks/spec.py``, read by the validation too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf


def _plain(node: Any) -> Any:
    """A config node as plain Python containers, interpolations resolved."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


@dataclass(frozen=True)
class Recipe:
    """How an adversarial batch is crafted, apart from the method and its radius: the
    gradient mode and its parameters, the time extension, the EOT draws, the step counts at
    which the running best example is kept (``attack.steps_curve``), the seed the attack's
    random draws derive from, and the event counts under which an event attack's row reports
    its share of successes (``attack.l0_thresholds``)."""

    grad_mode: str
    grad_params: dict[str, Any] = field(default_factory=dict)
    time_extension: int = 1
    eot_samples: int = 1
    steps_curve: tuple[int, ...] = ()
    seed: int = 0
    # event attacks' rows: the share of successes with fewer events changed than each
    l0_thresholds: tuple[int, ...] = (200, 800)

    @classmethod
    def from_config(cls, cfg: DictConfig) -> Recipe:
        """The recipe of the config's ``attack`` block and ``seed``."""
        return cls(
            grad_mode=cfg.attack.grad_mode,
            grad_params=_plain(cfg.attack.params),
            time_extension=cfg.attack.time_extension,
            eot_samples=cfg.attack.eot_samples,
            steps_curve=tuple(cfg.attack.steps_curve),
            seed=cfg.seed,
            l0_thresholds=tuple(cfg.attack.l0_thresholds),
        )


@dataclass(frozen=True)
class AttackSettings:
    """The ``attack`` block: the crafting recipe, whether examples are saved, and the tuning
    of the gradient mode's parameters on validation data (``attack.tune``, resolved)."""

    recipe: Recipe
    save_examples: bool = False
    tune: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: DictConfig) -> AttackSettings:
        return cls(
            recipe=Recipe.from_config(cfg),
            save_examples=cfg.attack.save_examples,
            tune=_plain(cfg.attack.tune),
        )


@dataclass(frozen=True)
class DataSettings:
    """The datamodule a job reads: the dataset's name and options, the batch sizes, and the
    seed of its training-data order."""

    name: str
    params: dict[str, Any]
    batch_size: int
    eval_batch_size: int
    seed: int

    @classmethod
    def from_config(cls, cfg: DictConfig, seed: int | None = None) -> DataSettings:
        """The config's datamodule; ``seed`` (default ``cfg.seed``) orders its training data."""
        return cls(
            name=cfg.dataset.name,
            params=_plain(cfg.dataset.params),
            batch_size=cfg.train.batch_size,
            eval_batch_size=cfg.eval_batch_size,
            seed=cfg.seed if seed is None else seed,
        )


@dataclass(frozen=True)
class CheckSettings:
    """The gradient-masking checks after the attacks (``checks.masking``), shown on a
    progress bar where the attacks' is (``trainer.enable_progress_bar``)."""

    enabled: bool
    probe_size: int
    zero_grad_share: float
    unbounded_steps: int
    unbounded_asr: float
    tolerance: float
    flip_draws: int = 10  # draws of the random-flip probe (random_flips_stronger)
    progress: bool = False

    @classmethod
    def from_config(cls, cfg: DictConfig) -> CheckSettings:
        return cls(**_plain(cfg.checks.masking), progress=bool(cfg.trainer.enable_progress_bar))


@dataclass(frozen=True)
class AnalysisSettings:
    """The analyses a job runs (``analysis=[...]``: each one's options by name), where they
    run by default (``trainer.accelerator``), and the neuron's leak λ and threshold θ that the
    static rate-current curve reads."""

    selected: dict[str, DictConfig]
    accelerator: str
    lam: float
    theta: float

    @classmethod
    def from_config(cls, cfg: DictConfig) -> AnalysisSettings:
        selected = cfg.get("analysis") or {}
        return cls(
            selected=dict(selected.items()),
            accelerator=cfg.trainer.accelerator,
            lam=cfg["lambda"],
            theta=cfg.theta,
        )


@dataclass(frozen=True)
class JobSettings:
    """Every typed setting of a job, built once after validation."""

    attack: AttackSettings
    data: DataSettings
    checks: CheckSettings
    analysis: AnalysisSettings
    notes: tuple[str, ...] = ()  # settings accepted with a note, as validation found them

    @classmethod
    def from_config(cls, cfg: DictConfig, notes: tuple[str, ...] = ()) -> JobSettings:
        """The settings of the validated ``cfg``; ``notes`` are what validation returned."""
        return cls(
            attack=AttackSettings.from_config(cfg),
            data=DataSettings.from_config(cfg),
            checks=CheckSettings.from_config(cfg),
            analysis=AnalysisSettings.from_config(cfg),
            notes=tuple(notes),
        )
