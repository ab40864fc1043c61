"""``snnattack.benchmark.evaluate``: a model's entry under a fixed protocol, from a script.

The protocol file (:mod:`snnattack.benchmark.protocol`) sets everything: the attacks and their
settings, ε, the seeds, the test subset and the validation images the tuned components choose
their parameters on, and the standard surrogate the transfer rows are crafted on (trained
once into the checkpoint store, as a job trains it). :func:`evaluate` composes the job config
of the protocol once (:func:`~snnattack.preparation.config.job_config`, the protocol's settings
as its overrides), adapts and checks the model once (what the attacks cannot run refused
with it, before the entry file and the data are read), prepares the evaluation as
:func:`snnattack.evaluate` does (:func:`~snnattack.preparation.evaluation.prepared_evaluation`)
and hands it on to the tail they share (:func:`~snnattack.preparation.evaluation.run_checked`:
the data are checked here, before any work), whose record, right as the core makes it,
becomes an entry (:mod:`snnattack.benchmark.entry`). It calls no function of the Python API
(:mod:`snnattack.api`): both stand on :mod:`snnattack.preparation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from snnattack import inputs
from snnattack.benchmark.arguments import (
    check_destination,
    check_names,
    check_paths,
    check_shape,
)
from snnattack.benchmark.entry import (
    check_replaced,
    check_reported,
    from_record,
    slug,
    write_entry,
)
from snnattack.benchmark.protocol import named
from snnattack.benchmark.release import sha256_of
from snnattack.benchmark.wandb_run import log_entry
from snnattack.config.compose import hydra_value
from snnattack.config.parse import data_settings
from snnattack.config.spelling import spelt
from snnattack.config.validation import validate
from snnattack.data import datamodule, first_samples
from snnattack.errors import UserError
from snnattack.evaluation.attacked import refuse_unattackable
from snnattack.evaluation.reuse import about_weights
from snnattack.inputs import dataset_of
from snnattack.interop.external import as_spiking_net, encoding_held
from snnattack.interop.first_forward import network_of, steps_of
from snnattack.models import MODELS
from snnattack.models.shapes import input_shape
from snnattack.preparation.config import job_config, job_settings, passed_spiking
from snnattack.preparation.evaluation import Data, as_a_job, prepared_evaluation, run_checked
from snnattack.process.numerics import kept_generators
from snnattack.records.store import ModelStore
from snnattack.runtime.console import libraries_quieted
from snnattack.settings import DataSettings, ModelSettings
from snnattack.training.parse import model_settings, source_config
from snnattack.training.trained import trained_model
from snnattack.values import as_python, keywords_checked, member_of

# keys a protocol sets that snnattack.evaluate() takes as arguments
ARGUMENTS = ("eps", "boxes", "seed")
ENTRIES = Path("entries")  # where entries are written unless ``path`` is given
LOGGERS = ("csv", "wandb")  # conf/logger/: csv adds nothing to the entry, wandb a W&B run


def _first(dataset: Dataset, n: int, argument: str) -> TensorDataset:
    """The first ``n`` samples of ``dataset`` in memory; UserError if it holds fewer (an
    iterable data set, of no length, counted as read), or if they do not read as (image,
    label) pairs (a torchvision data set without ``ToTensor`` gives PIL images)."""
    size = len(dataset) if hasattr(dataset, "__len__") else None
    if size is None or size >= n:
        try:
            x, y = first_samples(DataLoader(dataset, batch_size=n), n)
        except Exception as err:  # the user's data set, whatever broke
            raise UserError(
                f"{argument}: reading its first {n} samples raised {inputs.first_line(err)}; "
                f"accepted: {inputs.DATA}"
            ) from None
        size = len(y)
    if size < n:
        raise UserError(
            f"{argument} holds {size} samples but the protocol attacks {n}; accepted: "
            f"a data set of at least {n} samples, or {argument}=None (the protocol's own)"
        )
    return TensorDataset(x, y)


def protocol_data(data: DataSettings) -> tuple[Dataset, Dataset]:
    """The protocol's test split (its first ``n`` images are the fixed subset) and its
    validation images (for tuning), of its datamodule ``data``."""
    module = datamodule(data)
    module.setup("fit")
    module.setup("test")
    return module.test_set, module.val_set


def surrogate(source: ModelSettings, seed: int, store: Path, key: str = "store.dir") -> nn.Module:
    """The protocol's standard surrogate (``source``: its ``source_*`` keys, trained with
    ``seed``), from the checkpoint store ``store`` (named ``key`` in the messages: the
    argument or config key that gave it) or trained into it first, without Lightning's banners,
    tips and known warnings (as a job trains)."""
    with libraries_quieted():
        model, _ = trained_model(source, seed, ModelStore(store, key), [])
    return model


def check_surrogate_named(boxes: list[str], source_model: str | None, file: Path) -> None:
    """Refuses, before any work, a protocol (``file``) with a black box (in ``boxes``) that
    names no architecture for its standard surrogate (``source_model``, a drafted file's
    omission): a job's source is otherwise the target's architecture, which a model passed
    here has none of (the training of ``model.name=passed`` failed once the data were read,
    naming neither the file nor the key)."""
    if "black" in boxes and source_model is None:
        raise UserError(
            f"{file}: boxes={boxes} transfers from a standard surrogate, but "
            "the file sets no source_model, its architecture (a model passed to "
            "snnattack.benchmark.evaluate has none of the config's to train); accepted: "
            f"source_model: <one of {', '.join(MODELS)}> in the file, or boxes: [white]"
        )


@keywords_checked  # a misspelt keyword named with the one it stands for, not a TypeError
@torch.inference_mode(False)  # called in a validation loop's block: the attacks differentiate
@kept_generators()  # the user's random generators as they were, as snnattack.evaluate keeps them
def evaluate(
    model: nn.Module,
    data: Data | None = None,
    *,
    protocol: str | Path = "digits",
    name: str,
    paper: str | None = None,
    venue: str | None = None,
    training: str | None = None,
    reported: dict[str, float] | None = None,
    val_data: Data | None = None,
    T: int | None = None,
    store: Path | str | None = None,
    path: Path | str | None = None,
    logger: str = "csv",
) -> dict[str, Any]:
    """Runs the protocol (``digits``, ``digits_v1`` for one version, or a drafted file as a
    ``Path``: text is a released protocol's name) on ``model`` and
    returns its entry, written to ``path`` (default ``entries/<name>_<protocol>_v<k>.json``).

    ``name``, ``paper``, ``venue`` and ``training`` (e.g. ``"PGD-AT"``) describe the model;
    ``reported`` holds the paper's numbers in % by attack (``{"clean": 92.1, "pgd10":
    47.7}``). ``data`` and ``val_data`` replace the protocol's test subset and validation
    images (the entry then says ``data: user`` and the leaderboard ranks it apart); ``store`` is
    the checkpoint store its standard surrogate is kept in (trained there on first use).
    A model whose forward is random is attacked with the protocol's EoT draws
    (``benchmark.stochastic_eot``, passed as ``attack.random_eot_samples``: the evaluation
    core probes its own copy of the model). With ``logger="wandb"`` the entry is also a W&B
    run (``conf/logger/wandb.yaml``'s settings; :mod:`snnattack.benchmark.wandb_run`).
    """
    check_names(name, paper, venue, training)
    check_paths(path=path, store=store)
    chosen = named(protocol)
    chosen.check_file()  # a drafted file's mistake before any work (its data read, a download)
    check_reported(reported, "reported", chosen.measures.rows)  # by the protocol's row names
    destination = Path(path) if path is not None else ENTRIES / f"{slug(name)}_{chosen.label}.json"
    check_destination(destination)
    if complaint := member_of(LOGGERS).complaint("logger", logger, spell=as_python):
        raise UserError(complaint)
    meta = {
        "name": name,
        "paper": paper,
        "venue": venue,
        "training": training,
        "reported": reported,
        "data": "protocol" if data is None else "user",
    }
    eot = f"attack.random_eot_samples={chosen.stochastic_eot}"  # a model whose forward is random
    given = {*ARGUMENTS, *(f"benchmark.{k}" for k in meta)}  # set here, not by the file
    steps = steps_of(model, T)  # a foreign model's T checked before it is the config's
    # the protocol's settings as a job's overrides, validated once the model took its images
    cfg, _ = job_config(
        eps=chosen.eps,
        methods=chosen.methods,
        grad_mode="stbp",
        boxes=chosen.boxes,
        seed=chosen.seed,
        T=steps,
        overrides=[
            *(o for o in chosen.overrides() if o.split("=")[0].lstrip("+") not in given),
            *(f"++benchmark.{k}={hydra_value(v)}" for k, v in meta.items() if v is not None),
            eot,
            f"logger={logger}",
        ],
        validated=False,
    )
    check_surrogate_named(list(cfg.boxes), cfg.get("source_model"), chosen.path)
    # as a job's process, for the call: the checks' forwards, the surrogate's training and
    # the attacks under the config's GPU numerics (a job's numbers), without Lightning's banners
    with as_a_job(cfg.malloc, cfg.tf32, cfg.deterministic), libraries_quieted():
        # a blank sample of the protocol's data, as the model is given them: a user's own class's
        # form is probed on it (the one adaptation of the call), and the model checked by the input
        # gate (the protocol's classes too), before the data are read (a download)
        config = OmegaConf.to_container(cfg, resolve=True)
        blank = torch.zeros(1, *input_shape(config))
        model = network_of(model, blank)  # a gradient_mode module: its network, made of the blank
        net = as_spiking_net(model, T, example=blank)
        # the input encoding the model runs (a native model built with Poisson spikes), which the
        # protocol's config leaves at its own: the config says what runs, as a job's on the file
        # says it (encoding=poisson), and the standard surrogate is that job's
        for key, value in encoding_held(net, cfg.encoding == "frames").items():
            cfg[key] = value
        where = f"the protocol's data ({cfg.dataset.name})"
        inputs.check_model(net, "model", blank, where, model, classes=cfg.dataset.num_classes)
        # its notes judge the model as the attacks do (an ANN whatever train.kind labels it);
        # the black box's source is the protocol's, built by its kind
        notes = validate(cfg, spiking=dict(passed_spiking(net, None)))
        config = spelt(cfg)  # its numbers as their rules spell them
        settings = job_settings(cfg, notes)
        about = about_weights(net)  # beside its class, neurons and encoding in the record
        # what the attacks cannot run (a network of its own per-step loop and RGA rows): refused
        # before the entry file, the data and the surrogate's training, as the core would after
        refuse_unattackable(
            settings.attack, list(settings.specs), net, probed=settings.masking.enabled
        )
        check_replaced(  # another model's entry there is kept: refused before any work
            destination,
            {"name": name, "weights": about["weights"], "T": steps},
            f"path={str(path)!r}" if path is not None else f"name={name!r}",
            "another name= or path=",
        )
        inputs.check_held_out(data, val_data)
        # the protocol's data only where one of them is its own: given both, nothing is read (a
        # CIFAR protocol's files were required, and refused by keys Python cannot set)
        test_set = val_set = None
        if data is None or val_data is None:
            test_set, val_set = protocol_data(data_settings(cfg))
        test = _first(test_set if data is None else dataset_of(data, "data"), chosen.n, "data")
        val = val_set if val_data is None else dataset_of(val_data, "val_data")
        samples = inputs.samples_of(cfg.encoding, net.T, cfg.dataset)
        # the data and the model's forward on the first test image, checked once, before any work
        x, y = test.tensors
        inputs.check_batch(x, y, "data (its images)", "data (its labels)", samples)
        for argument, given in (("data", data), ("val_data", val_data)):  # the protocol's named
            check_shape(given, argument, tuple(blank.shape[1:]), where)
        inputs.check_evaluation(net, model, test, val_data=val_data, samples=samples)
        source = crafter = None
        if "black" in chosen.boxes:
            seed = cfg.seed + cfg.source_seed_offset
            folder, key = (store, "store") if store is not None else (cfg.store.dir, "store.dir")
            source = surrogate(model_settings(source_config(cfg)), seed, Path(folder), key)
            crafter = as_spiking_net(source, None, "source", blank)  # its own T, not the user's
        prepared = prepared_evaluation(settings, config, model, net, source, crafter, about=about)
        record = run_checked(prepared, model, source, test, val)
        replaced = ["val_data=user"] if val_data is not None else []  # data=: the entry's data
        entry = from_record(record, sha256_of(chosen.path), replaced)
        written = write_entry(entry, destination)
        if cfg.logger.wandb:
            log_entry(entry, dict(cfg.logger.wandb), written.parent, list(cfg.get("tags") or []))
        return entry
