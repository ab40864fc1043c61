"""A job's models: trained once per training spec and kept in the checkpoint store, or read
from a model file (``checkpoint=``). The copies the attacks run are the evaluation's
(:mod:`snnattack.evaluation.attacked`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import lightning as L
from torch import nn

from snnattack.attacks.checks import fit_components
from snnattack.config.compose import hydra_value
from snnattack.data import DATAMODULES
from snnattack.errors import CheckpointError
from snnattack.interop.external import check_external, external_model, factory_network, is_external
from snnattack.models.reference import namings
from snnattack.records.checkpoints import load_model_file, read_model_file
from snnattack.records.results import neuron_text
from snnattack.records.store import ModelStore
from snnattack.settings import JobSettings, ModelSettings, TrackingSettings, dotted_value, thaw
from snnattack.snn.backend import set_backend
from snnattack.snn.neurons import lif_settings
from snnattack.training import STRATEGIES
from snnattack.training.adversaries.recipe import adversary_spec
from snnattack.training.base import spikes
from snnattack.training.fit import TrainContext, Trained
from snnattack.training.store_key import store_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Built:
    """What :func:`built_models` built to check it before any work, for the job to build each
    once: the model files loaded (``checkpoint``, ``source_checkpoint``: the model and its
    record) and ``model=external``'s network without ``checkpoint=`` (``external``, its backend
    set). None: not asked for."""

    checkpoint: Trained | None = None
    source_checkpoint: Trained | None = None
    external: nn.Module | None = None


def build_model(model: ModelSettings) -> nn.Module:
    """The untrained network ``model`` describes (its kind of training decides which)."""
    return STRATEGIES[model.kind].build(model)


def trained_model(
    model: ModelSettings,
    seed: int,
    store: ModelStore,
    trainers: list[L.Trainer],
    tracking: TrackingSettings | None = None,
) -> Trained:
    """The model trained with ``seed``: from the store, or trained now (or resumed) and stored
    (its training run logged as ``tracking`` says; None: a CSV log only).

    How it is trained is the strategy of its kind (``train.kind``); ``record["kind"]`` says it.
    A kind that starts from another model (``Strategy.base``) gets that one first, with the
    same seed, from the store or trained.
    """
    strategy = STRATEGIES[model.kind]
    spec = store_key(model, seed)

    def make() -> nn.Module:
        L.seed_everything(seed, workers=True, verbose=False)
        return strategy.build(model)

    def train(workdir: Path) -> Trained:
        L.seed_everything(seed, workers=True, verbose=False)
        base_model = strategy.base(model)
        base = (
            None
            if base_model is None
            else trained_model(base_model, seed, store, trainers, tracking)
        )
        return strategy.train(model, workdir, TrainContext(seed, spec, trainers, base, tracking))

    net, record = store.get_or_train(spec, make, train)
    log.info(
        "%s model %s (%s, seed %d)",
        "reused" if record.get("cached") else "trained",
        record.get("key"),
        model.kind,
        seed,
    )
    return net.eval(), {**record, "kind": model.kind}


def load_from_file(model: ModelSettings, path: str, key: str = "checkpoint") -> Trained:
    """The configured model with the weights of ``path`` (any format of
    :mod:`snnattack.records.checkpoints`, ``key`` the config key that names it): a native
    architecture also reads the reference codes' files (:mod:`snnattack.models.reference`),
    ``model=external`` the factory's own network before adapting it. A file whose
    normalisation is not the dataset's is refused: loaded, it would silently replace it. A
    ``~`` in ``path`` is the user's home, as a shell reads it."""
    file = Path(path).expanduser()
    if is_external(model.tree):
        net = factory_network(model.tree)
        record = load_model_file(file, net, key)
        net = set_backend(external_model(model.tree, net), model.tree["backend"])
    else:
        net = build_model(model)
        payload = read_model_file(file, key)
        stored = payload.get("record") if isinstance(payload, dict) else None
        if isinstance(stored, dict):  # before its weights: another encoding builds no normalize
            _check_trained_as(stored, model.tree, f"{key}={file}")
        given = ("dataset.mean", "dataset.std") if model.tree["encoding"] == "direct" else None
        names = namings(model.name, net)
        record = load_model_file(file, net, key, names, payload, normalization=given)
    return net.eval(), {**record, "kind": model.kind}


def _check_trained_as(record: dict, tree: Mapping, where: str) -> None:
    """Refuses a store file whose training record made it another kind of model
    (``spec.train.kind``: an ANN attacked as an SNN), another architecture (``spec.model``:
    its weights' names refused as a missing key) or ran its neurons otherwise
    (``spec.neuron``: T, λ, θ, reset) than the config ``tree`` would: its weights would be
    attacked as another model, and the results labelled with settings it never had."""
    spec, own_file = record.get("spec") or {}, where.startswith("checkpoint=")
    kind, ours = (spec.get("train") or {}).get("kind"), tree["train"]["kind"]
    if kind is not None and kind != ours:
        accepted = (
            f"train.kind={kind}, the file's"
            if own_file
            else f"a file trained as train.kind={ours}, the target's (it is built as the target)"
        )
        raise CheckpointError(
            f"{where} was trained as train.kind={kind} (its record's spec.train), but the "
            f"config attacks it as train.kind={ours}; accepted: {accepted}"
        )
    arch, built = (spec.get("model") or {}).get("name"), tree["model"]["name"]
    if arch is not None and arch != built:  # its weights' names would not fit: a missing key
        accepted = (
            f"model={arch}, the file's"
            if own_file
            else f"a file of model={built}, the target's (it is built as the target)"
        )
        raise CheckpointError(
            f"{where} holds a model={arch} (its record's spec.model), but the config builds "
            f"model={built}; accepted: {accepted}"
        )
    if own_file and "train" in spec:
        _check_adversary(spec["train"].get("adversary"), tree, where)
    trained = {k: v for k, v in _trained_with(spec).items() if dotted_value(tree, k) != v}
    if trained:
        theirs = [f"{k}={hydra_value(v)}" for k, v in trained.items()]
        ours = [f"{k}={hydra_value(dotted_value(tree, k))}" for k in trained]
        longer = " (a longer simulation at attack time: attack.time_extension)"  # T's alone
        accepted = (
            f"{' '.join(theirs)}, the file's{longer if 'T' in trained else ''}"
            if own_file
            else f"a file trained with {' '.join(ours)}, the target's (it is built as the target)"
        )
        raise CheckpointError(
            f"{where} was trained with {', '.join(theirs)} (its record's spec), but the "
            f"config runs it with {', '.join(ours)}; accepted: {accepted}"
        )
    _check_dataset(spec, tree, where)


def _trained_with(spec: dict) -> dict[str, object]:
    """The settings a store file's record (``spec``) says the model ran and learned with, by
    config key: its neurons (T, λ, θ, reset), its kind's settings in no weight
    (:meth:`~snnattack.training.base.Strategy.stored_settings`), its input encoding and
    quantisation, and the surrogate width its STBP gradient is attacked with (a record
    without them: none; an ANN's, attacked by autograd: no width)."""
    trained = dict(spec.get("neuron") or {})
    kind = (spec.get("train") or {}).get("kind")
    if kind in STRATEGIES:
        trained |= STRATEGIES[kind].stored_settings(spec)
    if "encoding" in spec:
        trained |= {"encoding": spec["encoding"], "encoding_levels": spec.get("encoding_levels")}
    if "surrogate_width" in (spec.get("train") or {}) and spikes(kind):
        trained["train.surrogate_width"] = spec["train"]["surrogate_width"]
    return trained


def _check_adversary(theirs: dict | None, tree: Mapping, where: str) -> None:
    """Refuses a config that sets an adversary (``train.adversary.method``) other than the one
    the file's record says it was trained with, or settings of it the record differs in: its
    rows and tables would name a training the model never had. Without a method set, the
    file's record names its adversary."""
    ours = adversary_spec(tree["train"]["adversary"], STRATEGIES[tree["train"]["kind"]].trains_at_T)
    if ours is None or ours == theirs:
        return
    record = "train.adversary.method=null (its record names its adversary)"
    if theirs is None:
        trained, accepted = "without an adversary", "train.adversary.method=null, the file's"
        said = [f"method={ours['method']}"]
    elif ours["method"] != theirs["method"]:
        trained = f"with train.adversary.method={theirs['method']}"
        said = [f"method={ours['method']}"]
        accepted = f"{record}, or train.adversary.method={theirs['method']} as the file was trained"
    else:
        differ = [k for k in {**theirs, **ours} if ours.get(k) != theirs.get(k)]
        said = [f"{k}={hydra_value(ours.get(k))}" for k in differ]
        named = [f"train.adversary.{k}={hydra_value(theirs.get(k))}" for k in differ]
        trained = f"with train.adversary.method={theirs['method']}, {', '.join(named)}"
        accepted = f"{' '.join(named)}, the file's, or {record}"
    raise CheckpointError(
        f"{where} was trained {trained} (its record's spec.train), but the config says "
        f"{', '.join(f'train.adversary.{n}' for n in said)}; accepted: {accepted}"
    )


def _check_dataset(spec: dict, tree: Mapping, where: str) -> None:
    """Refuses a file (its record's ``spec``) trained on this dataset with other values of the
    params that decide its test split (its datamodule's ``TEST_SPLIT``): the config's test
    split may hold samples it was trained on, and the attack would report a robustness
    measured on training data, and of a test split drawn over another set of files (its
    ``spec.recordings``, the datamodule's ``drawn_over``; a file made before 2026-12-06 holds
    the fingerprint of the recordings' names and sizes alone, and is held to those). Likewise
    of those that decide its inputs' values (``input_form``: an event dataset's framing): it
    would be attacked on inputs it never saw."""
    theirs = spec.get("dataset") or {}
    ours = tree["dataset"]
    if theirs.get("name") != ours["name"] or ours["name"] not in DATAMODULES:
        return
    params, module = theirs.get("params") or {}, DATAMODULES[ours["name"]]
    split = {k: params[k] for k in module.TEST_SPLIT if k in params}
    form = {k: v for k, v in module.input_form(params).items() if k in params}
    for trained, config, what in (
        (
            split,
            ours["params"],
            "tests it with {}, whose test split may hold samples it was trained on",
        ),
        (form, module.input_form(ours["params"]), "makes its inputs with {}, which it never saw"),
    ):
        differ = [k for k, v in trained.items() if config.get(k) != v]
        if differ:
            file_s, config_s = (
                [f"dataset.params.{k}={hydra_value(values.get(k))}" for k in differ]
                for values in (trained, config)
            )
            raise CheckpointError(
                f"{where} was trained on {ours['name']} with {', '.join(file_s)} (its record's "
                f"spec.dataset), but the config {what.format(', '.join(config_s))}; accepted: "
                f"{' '.join(file_s)}, the file's"
            )
    drawn, present = spec.get("recordings"), module.drawn_over(ours["params"])
    if (  # no data here: the data's check; an older file's names and sizes: those
        None not in (drawn, present)
        and drawn != present
        and drawn != module.drawn_over(ours["params"], contents=False)
    ):
        raise CheckpointError(
            f"{where} was trained on another set of {ours['name']} recordings than those under "
            f"dataset.params.root={ours['params'].get('root')} (its record's spec.recordings): "
            "the test split is drawn over the recordings present, and this one may hold "
            "recordings it was trained on; accepted: the recordings it was trained on, or a "
            "model trained on these"
        )


def built_models(model: ModelSettings) -> Built:
    """Loads ``checkpoint`` and ``source_checkpoint`` into the configured ``model`` (the
    target's architecture), so that a bad file is refused before any model is trained, and
    checks that ``model=external``'s factory builds a network that runs
    (:func:`~snnattack.interop.external.check_external`): a job's last check of its config,
    after :func:`snnattack.config.validation.validate`. The job uses what they built."""
    resolved = thaw(model.tree)
    loaded = {
        key: load_from_file(model, resolved[key], key)
        for key in ("checkpoint", "source_checkpoint")
        if resolved.get(key) is not None
    }
    nets = {key: trained[0] for key, trained in loaded.items()}
    source = nets.get("source_checkpoint")
    net = check_external(resolved, nets.get("checkpoint"), source)
    if net is not None:  # their own neurons, which the config's lambda does not describe
        fit_components(resolved, net, source)
    if net is None or "checkpoint" in nets:  # not model=external, or its file's: backend set
        return Built(**loaded, external=None)
    return Built(**loaded, external=set_backend(net, resolved["backend"]))


def model_from_file(model: ModelSettings, path: str, loaded: Trained) -> Trained:
    """The model file ``path`` as the job's checks ``loaded`` it (:func:`built_models`,
    :func:`load_from_file`; not read again), logged: the model a job attacks or crafts on."""
    log.info("model from file %s", path)
    net, record = loaded
    return net, own_neurons(model, net, record)


def own_neurons(model: ModelSettings, net: nn.Module, record: dict) -> dict:
    """``record`` with a ``model=external`` network's own neurons (each LIF's λ, θ, reset:
    ``neurons``, logged), which the config's ``lambda`` and ``reset`` do not describe."""
    if not is_external(model.tree):
        return record
    neurons = lif_settings(net)
    log.info("its neurons: %s", neuron_text(neurons))
    return {**record, "neurons": neurons}


def target_model(
    job: JobSettings, store: ModelStore, trainers: list[L.Trainer], built: Built
) -> Trained:
    """The attacked model: the file ``checkpoint=`` names, else (``model=external``) the one
    the user's factory builds, else the one of ``seed`` trained or stored; what validation
    ``built`` is used as it is."""
    model, where = job.model, job.store
    factory = model.tree["model"]["factory"]["_target_"] if is_external(model.tree) else None
    if where.checkpoint:
        net, record = model_from_file(model, where.checkpoint, built.checkpoint)
        # the file holds the weights of the factory's network, trained elsewhere
        return net, record if factory is None else {**record, "factory": factory}
    if factory is not None:
        log.info("model from factory %s", factory)
        net = built.external.eval()
        record = {"kind": model.kind, "factory": factory}
        return net, own_neurons(model, net, record)
    return trained_model(model, where.seed, store, trainers, job.tracking)
