"""A job's settings as frozen dataclasses, built once from the validated config.

:func:`snnattack.job.run` validates the config (:mod:`snnattack.config`) and then builds one
:class:`JobSettings` (:func:`snnattack.preparation.config.job_settings`, each layer parsing its
own part of the config tree); below ``job.py`` the models, the training, the attacks, the
evaluation, the data, the tracking and the analyses receive these typed settings, never the
config. A resolved config tree where one is needed (the record, the result spec, the sweep's
row keys, a model's store key) is a plain dict, or frozen inside the settings (:func:`freeze`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

# model.name of a network passed to the Python API (snnattack.evaluate, attack, benchmark):
# built by its caller, never here; its record's models.target says what it is (class, neurons)
PASSED = "passed"
# the key that the notes of a config of the Python API read beside its keys: whether each
# network passed spikes, by the box it crafts for ({"white": False} for an ANN target), so
# they judge the networks as the attacks do (snnattack.attacks.crafting.spiking); never a
# key of a config (validation adds it to the tree its notes read)
SPIKING_PASSED = "spiking_passed"
BOXES = ("white", "black")  # where an attack is crafted: on the target, or on a source
CRAFTING = {"white": "target", "black": "source"}  # the model each box crafts on, by its role
ROLES = {"target": "the target", "source": "the black-box source"}  # a job's models, named
LOSSES = ("ce", "dlr")  # what the adaptive PGD attacks (apgd, sapgd) ascend: method.*.loss
WANDB_MODES = ("online", "offline", "disabled")  # how W&B logs a run: logger.wandb.mode
# how an image enters a network's T steps (the encoders of snnattack.snn.encoding)
ENCODINGS = ("direct", "poisson", "poisson_signed", "frames")
# the files a model is read from (checkpoint=, source_checkpoint=), as the messages say them
FORMATS = "a store model.pt, a Lightning .ckpt, the model's own state dict or a reference code's"
# the config keys that only the black-box source reads (training/parse.py: source_config)
SOURCE_KEYS = (
    "source_seed_offset",
    "source_train",
    "source_lambda",
    "source_T",
    "source_model",
    "source_checkpoint",
)


class Frozen(Mapping):
    """A read-only mapping (a config block inside the settings): no item can be set or
    removed; it pickles and copies (a ``MappingProxyType`` does neither)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] = ()) -> None:
        object.__setattr__(self, "_items", dict(items))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return (type(self), (self._items,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


def freeze(plain: Any) -> Any:
    """A resolved config tree (plain dicts and lists) that cannot be changed: :class:`Frozen`
    mappings and tuples."""
    if isinstance(plain, Mapping):
        return Frozen({k: freeze(v) for k, v in plain.items()})
    if isinstance(plain, list | tuple):
        return tuple(freeze(v) for v in plain)
    return plain


class FrozenBlocks:
    """Settings whose config blocks (mappings and lists: parameters, options, a resolved
    tree) are frozen (:func:`freeze`) as they are built, whoever builds them, so that no
    holder of the settings can change a block that another reads."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Mapping | list) and not isinstance(value, Frozen):
                object.__setattr__(self, f.name, freeze(value))


def thaw(frozen: Any) -> Any:
    """A plain copy (dicts and lists, as the config gave them) of a tree :func:`freeze` made."""
    if isinstance(frozen, Mapping):
        return {k: thaw(v) for k, v in frozen.items()}
    if isinstance(frozen, tuple):
        return [thaw(v) for v in frozen]
    return frozen


def walk(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every node of a config ``tree``, each parent before its children."""
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        yield dotted, value
        if isinstance(value, Mapping):
            yield from walk(value, dotted + ".")


def dotted_value(tree: Mapping[str, Any], dotted: str) -> Any:
    """The value at the ``dotted`` key of a config ``tree``; None where it is missing."""
    node: Any = tree
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def radius_name(eps_255: float) -> str:
    """A row's radius as its name spells it, ``eps8`` (in 1/255, to 6 significant digits):
    two radii of one spelling are one row's (refused: ``snnattack.config.combinations``)."""
    return f"eps{eps_255:g}"


def row_name(method: str, box: str, eps_255: float) -> str:
    """A result row's name, ``<method>/<box>/eps<radius>`` (``pgd/white/eps8``): its key in
    ``metrics.json``'s ``row_seconds`` and W&B's metrics, its saved examples' ``row``, and
    what its random draws derive from."""
    return f"{method}/{box}/{radius_name(eps_255)}"


@dataclass(frozen=True)
class AttackSpec:
    """One row of the results: a method at a radius, white or black box (the config's rows are
    parsed once, :func:`snnattack.attacks.parse.attack_specs`, and carried in
    :attr:`JobSettings.specs`)."""

    method: str  # the row's name (the config node, e.g. apgd_dlr)
    eps: float  # [0, 1] units
    box: str  # "white" | "black"
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # the algorithm it runs: the entry of methods.METHODS (e.g. apgd) or the ensemble;
    # "" = the same name as method
    algorithm: str = ""
    # the gradient mode's parameters for this row (a tuned value); None = the job's
    grad_params: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    # how grad_params were tuned on validation data (attack.tune): values (None: every
    # point scored alike, grad_params kept), val ASR, val size
    tuned: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    # the EOT draws per gradient of this row where they are not the recipe's (its crafting
    # model's forward is fixed beside the other box's random one); None = the recipe's
    eot_samples: int | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.algorithm:
            object.__setattr__(self, "algorithm", self.method)

    @property
    def name(self) -> str:
        return row_name(self.method, self.box, self.eps * 255)

    @property
    def targeted(self) -> bool:
        """Whether the row aims at a class (:func:`aims_at_class` of its method's parameters;
        an ensemble's where one of its components does, whose targeted rate it then records:
        :class:`snnattack.attacks.ensemble.WorstCase`)."""
        parts = self.params.get("components")  # an ensemble's, which has no target itself
        if parts is not None:
            return any(aims_at_class(p.params) for p in parts)
        return aims_at_class(self.params)


def aims_at_class(params: Mapping[str, Any]) -> bool:
    """Whether a method with ``params`` aims at a class: its ``target`` is a class index or
    ``random`` (a class per sample); -1, or none, leaves the true class."""
    target = params.get("target", -1)
    return isinstance(target, str) or target >= 0


@dataclass(frozen=True)
class Recipe(FrozenBlocks):
    """How an adversarial batch is crafted, apart from the method and its radius: the
    gradient mode and its parameters, the time extension, the EOT draws, the step counts at
    which the running best example is kept (``attack.steps_curve``), the seed the attack's
    random draws derive from, and the event counts under which an event attack's row reports
    its share of successes (``attack.l0_thresholds``)."""

    grad_mode: str
    grad_params: Mapping[str, Any] = field(default_factory=Frozen)  # frozen
    time_extension: int = 1
    eot_samples: int = 1
    steps_curve: tuple[int, ...] = ()
    seed: int = 0
    l0_thresholds: tuple[int, ...] = (200, 800)


def row_recipe(recipe: Recipe, spec: AttackSpec) -> Recipe:
    """``recipe`` as the row ``spec`` crafts with it: with the row's own gradient parameters
    (tuned) and EOT draws where it has them."""
    own = {"grad_params": spec.grad_params, "eot_samples": spec.eot_samples}
    return replace(recipe, **{k: v for k, v in own.items() if v is not None})


@dataclass(frozen=True)
class AttackSettings(FrozenBlocks):
    """The ``attack`` block: the crafting recipe, whether examples are saved, the tuning of
    the gradient mode's parameters on validation data (``attack.tune``, resolved), how the
    attacked copies of the models are prepared: BNs folded (``attack.fold_bn``),
    ``torch.compile``'d (the top-level ``compile``), and the EOT draws per gradient where the
    target's forward is random (``attack.random_eot_samples``; None: never probed)."""

    recipe: Recipe
    save_examples: bool = False
    tune: Mapping[str, Any] = field(default_factory=Frozen)  # frozen
    fold_bn: bool = False
    compiled: bool = False
    random_eot_samples: int | None = None


@dataclass(frozen=True)
class DataSettings(FrozenBlocks):
    """The datamodule a job reads: the dataset's name and options, the batch sizes, and the
    seed of its training-data order."""

    name: str
    params: Mapping[str, Any]  # frozen
    batch_size: int
    eval_batch_size: int
    seed: int


@dataclass(frozen=True)
class MaskingSettings:
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


@dataclass(frozen=True)
class AnalysisSettings(FrozenBlocks):
    """The analyses a job runs (``analysis=[...]``: each one's options by name) and where they
    run by default (``trainer.accelerator``)."""

    selected: Mapping[str, Any]  # frozen
    accelerator: str


@dataclass(frozen=True)
class TrackingSettings(FrozenBlocks):
    """Where a job's runs are logged (``logger``): a CSV log, and W&B (the frozen
    ``logger.wandb`` block, None without W&B) with the runs' tags: the dataset, the
    architecture, the gradient mode and the user's ``tags``. ``seed`` tells the target's
    training run from the source's; ``cosmetic_keys`` stay out of run names."""

    csv: bool
    wandb: Mapping[str, Any] | None  # frozen
    tags: tuple[str, ...]
    dataset: str
    model: str
    grad_mode: str
    seed: int
    cosmetic_keys: tuple[str, ...]


@dataclass(frozen=True)
class ModelSettings(FrozenBlocks):
    """One model to build, train or load: the resolved config that describes it (``tree``,
    frozen: its store key, its architecture, its training recipe and Trainer keys), the data it
    trains on, and the models its kind of training derives from, parsed from the config as
    each would be (a kind or recipe changed before interpolations resolve: ``reset`` follows
    ``train.kind``, ``trainer.max_epochs`` follows ``train.epochs``).

    ``base``: the model this kind starts from (``Strategy.base``), or None; ``fine_tuning``:
    this model's recipe where its kind trains with another than ``train``'s (hybrid's)."""

    tree: Mapping[str, Any]  # frozen
    data: DataSettings
    base: ModelSettings | None = None
    fine_tuning: ModelSettings | None = None

    @property
    def kind(self) -> str:
        """Its kind of training (``train.kind``)."""
        return self.tree["train"]["kind"]

    @property
    def name(self) -> str:
        """Its architecture (``model.name``)."""
        return self.tree["model"]["name"]

    @property
    def train(self) -> Mapping[str, Any]:
        """Its training recipe (the ``train`` block)."""
        return self.tree["train"]


@dataclass(frozen=True)
class StoreSettings:
    """Where a job's models come from: the checkpoint store (``store.dir``), the model files
    ``checkpoint=`` and ``source_checkpoint=`` (None: trained), the seeds of the target and
    the black-box source, and whether a black-box source is attacked from at all."""

    dir: str
    checkpoint: str | None
    source_checkpoint: str | None
    seed: int
    source_seed: int
    black_box: bool


@dataclass(frozen=True)
class JobSettings:
    """Every typed setting of a job, built once after validation: the attack rows themselves
    (``specs``), the target and the black-box source (the model each box crafts on), where
    they are stored, and the tracking."""

    attack: AttackSettings
    data: DataSettings
    masking: MaskingSettings
    analysis: AnalysisSettings
    specs: tuple[AttackSpec, ...] = ()
    tunes: bool = False  # whether any row's gradient mode is tuned on validation data
    model: ModelSettings | None = None
    source: ModelSettings | None = None  # the source's settings (the black box crafts on it)
    store: StoreSettings | None = None
    tracking: TrackingSettings | None = None
    notes: tuple[str, ...] = ()  # settings accepted with a note, as validation (and the
    # job's store lookup: training/workers.py) found them
