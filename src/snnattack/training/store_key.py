"""A model's store key: everything that affects a trained model (its training spec), which the
checkpoint store hashes into the model's folder name (``records.store.spec_key``)."""

from __future__ import annotations

from typing import Any

from snnattack.records.cosmetic import without_cosmetic
from snnattack.settings import ModelSettings, thaw
from snnattack.training import STRATEGIES, TRAINING_VERSION
from snnattack.training.adversaries.recipe import adversary_spec

TEST_ONLY = ("limit_test_batches",)  # trainer keys that only the attacks read (Trainer.test)
# trainer keys that change a model only when set (null: Lightning's default): left out at null,
# so the models stored before the key existed keep their store keys
IF_SET = ("gradient_clip_val",)


def store_key(model: ModelSettings, seed: int) -> dict[str, Any]:
    """Everything that affects ``model`` trained with ``seed``: the store key's content.

    Includes the kind of training (``train.kind``), the adversary of adversarial training
    (only the settings its method reads; none for standard training), the version of how
    models are trained and selected (:data:`TRAINING_VERSION`) and, for a kind that starts
    from another model (conversion, hybrid), that model's key (``base``). Leaves out the
    ``cosmetic_keys``, the trainer keys that only the attacks read (:data:`TEST_ONLY`) and those
    that change nothing at null (:data:`IF_SET`).
    """
    strategy = STRATEGIES[model.kind]
    c = without_cosmetic(thaw(model.tree), model.tree["cosmetic_keys"])
    dataset = {k: v for k, v in c["dataset"].items() if k != "encodings"}
    # the train sub-blocks read by some kinds only: each kind's key keeps only the ones it reads
    others = {b for kind in STRATEGIES.values() for b in kind.blocks} - set(strategy.blocks)
    train = {k: v for k, v in c["train"].items() if k not in others}
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
    base = strategy.base(model)
    if base is not None:
        spec["base"] = store_key(base, seed)
    return strategy.key(spec)
