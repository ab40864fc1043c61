"""A model's store key: everything that affects a trained model (its training spec), which the
checkpoint store hashes into the model's folder name (``records.store.spec_key``)."""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from snnattack.config.keys import loaded
from snnattack.data import DATAMODULES
from snnattack.package import CONF_DIR
from snnattack.records.cosmetic import without_cosmetic
from snnattack.settings import ModelSettings, dotted_value, thaw
from snnattack.snn.encoding import RANDOM_ENCODINGS
from snnattack.training import STRATEGIES, TRAINING_VERSION
from snnattack.training.adversaries.recipe import adversary_spec

TEST_ONLY = ("limit_test_batches",)  # trainer keys that only the attacks read (Trainer.test)
# trainer keys that change a model only when set (null: Lightning's default): left out at null,
# so the models stored before the key existed keep their store keys
IF_SET = ("gradient_clip_val",)
# cosmetic keys that change a trained model, kept in the store key but left out at the value
# here (the one that trained the models stored before the key was kept). None now: the loader's
# workers no longer change a trained model (snnattack.training.fit.EpochSeed)
TRAINING_KEYS: dict[str, Any] = {}
# the train keys a key holds at the recipes' defaults where the training never reads them, so
# the models stored before keep their keys: every kind's reset is the key's neuron.reset (its
# own, or reset=), and a model without spiking neurons has no surrogate (conf/train/)
RESETS = OmegaConf.to_container(loaded(CONF_DIR / "train" / "_kinds.yaml").resets)
SURROGATE_WIDTH = 1.0
# how an augmented training's samples draw (dataset.params.augment): each from its own seed;
# the models stored before drew from the loading process's generator, and are trained again
SAMPLE_DRAWS = "per sample"


def store_key(model: ModelSettings, seed: int) -> dict[str, Any]:
    """Everything that affects ``model`` trained with ``seed``: the store key's content.

    The kind of training, the adversary's settings its method reads, :data:`TRAINING_VERSION`
    (:data:`RESETS` and :data:`SURROGATE_WIDTH` where no training reads them; ``train.epochs``
    as the trainer's ``max_epochs``, which replaces it where set, and a fine-tuning's epochs,
    ``train.hybrid.epochs``, as its trainer's)
    and, for a kind that starts from another model, that model's key (``base``). Leaves out
    the ``cosmetic_keys`` (but :data:`TRAINING_KEYS`), :data:`TEST_ONLY` and :data:`IF_SET` at
    null; adds :data:`SAMPLE_DRAWS`, where it selects the checkpoint ``eval_batch_size``
    (:func:`_selects_by_batch`), and where the dataset's test split is drawn over the files
    present the fingerprint of those files (``recordings``, the datamodule's ``drawn_over``),
    and where the training split is the files present theirs (``training_recordings``,
    ``trained_over``).
    """
    strategy = STRATEGIES[model.kind]
    tree = thaw(model.tree)
    cosmetic = [
        k
        for k in tree["cosmetic_keys"]
        if k not in TRAINING_KEYS or dotted_value(tree, k) == TRAINING_KEYS[k]
    ]
    c = without_cosmetic(tree, cosmetic)
    dataset = {k: v for k, v in c["dataset"].items() if k != "encodings"}
    # the train sub-blocks read by some kinds only: each kind's key keeps only the ones it reads
    others = {b for kind in STRATEGIES.values() for b in kind.blocks} - set(strategy.blocks)
    train = {k: v for k, v in c["train"].items() if k not in others}
    # the epochs Lightning trains: trainer.max_epochs, which follows train.epochs unless set
    train["epochs"] = c["trainer"]["max_epochs"]
    if model.fine_tuning is not None:  # its fine-tuning's too: train.<kind>.epochs unless set
        tuned = model.fine_tuning.tree["trainer"]["max_epochs"]
        train[strategy.name] = {**train[strategy.name], "epochs": tuned}
    if "resets" in train:
        train["resets"] = RESETS
    if not strategy.spiking:
        train["surrogate_width"] = SURROGATE_WIDTH
    adversary = adversary_spec(train.pop("adversary", None), spiking=strategy.trains_at_T)
    if adversary is not None:
        train["adversary"] = adversary
    spec = {
        "dataset": dataset,
        "model": c["model"],
        "neuron": {k: c[k] for k in ("T", "lambda", "reset", "theta")},
        "encoding": c["encoding"],
        "encoding_levels": c.get("encoding_levels"),
        "train": train,
        "trainer": {
            k: v
            for k, v in c["trainer"].items()
            if k not in TEST_ONLY and not (k in IF_SET and v is None)
        },
        "seed": seed,
        "version": TRAINING_VERSION,
    }
    module = DATAMODULES.get(tree["dataset"]["name"])
    drawn = None if module is None else module.drawn_over(tree["dataset"]["params"])
    if drawn is not None:  # a test split drawn over the files present: another set, another
        spec["recordings"] = drawn
    trained = None if module is None else module.trained_over(tree["dataset"]["params"])
    if trained is not None:  # a training split of the files present: a partial extraction's
        spec["training_recordings"] = trained
    if dotted_value(c, "dataset.params.augment"):
        spec["augment_draws"] = SAMPLE_DRAWS
    if _selects_by_batch(c):
        spec["eval_batch_size"] = c["eval_batch_size"]
    base = strategy.base(model)
    if base is not None:
        spec["base"] = store_key(base, seed)
    return strategy.key(spec)


def _selects_by_batch(c: dict[str, Any]) -> bool:
    """Whether the validation's batch size (``eval_batch_size``) changes which checkpoint is
    selected: where ``trainer.limit_val_batches`` limits the validation (a count, or a share
    below 1, of batches of that size) or the encoding draws at random (``RANDOM_ENCODINGS``).
    Elsewhere it moves the validation within floating-point noise only, and is left out: a job
    that attacks in other batches reuses the model, and stored models keep their keys.
    """
    limit = c["trainer"].get("limit_val_batches")
    limited = limit is not None and not (isinstance(limit, float) and limit >= 1.0)
    return limited or c["encoding"] in RANDOM_ENCODINGS
