"""Checks of a composed config, before any work: one clear line per wrong value.

In order: every key is one the project reads (:mod:`.keys`), each key's value passes its rule
(:mod:`.rules`), the keys fit together (:mod:`.combinations`), and the machine and the files
can do the job (:mod:`.preflight`). :func:`validate` runs them all and returns the notes.

A kind's own keys are declared beside its code (:mod:`snnattack.values`, :mod:`.rules` names
where): ``config/`` lies below every kind (docs/architecture.md, "The layers") and imports
none, so :func:`validate` refuses to run before the packages of :data:`DECLARING` are imported
(``snnattack.job`` and ``snnattack.api`` import them). What a kind needs of the config it
parses itself (:mod:`snnattack.attacks.parse`, :mod:`snnattack.training.parse`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snnattack.config import combinations as combinations  # its checks register on import
from snnattack.config import rules as rules  # its rules declare on import
from snnattack.config.keys import check_keys
from snnattack.config.plain_rules import LISTS, check_rules, listed
from snnattack.config.preflight import data_files, writable
from snnattack.config.spelling import flat, resolve, spell_config
from snnattack.errors import ConfigError, UserError
from snnattack.records.failures import refused_jobs_line
from snnattack.settings import PASSED, SPIKING_PASSED, dotted_value
from snnattack.values import CHECKS, KEYS, MACHINE, NOTES, RULES, WRITTEN_NOTES, Rule

__all__ = [
    "CHECKS",
    "DECLARING",
    "RULES",
    "Rule",
    "check_sweep",
    "checked",
    "job_files",
    "logged",
    "notes",
    "validate",
    "writable",
]

log = logging.getLogger(__name__)

# the packages whose modules declare the rules, checks and notes of their kinds' keys on import
DECLARING = ("snnattack.attacks", "snnattack.training", "snnattack.interop", "snnattack.analysis")


def notes(
    resolved: dict[str, Any],
    written: dict[str, Any] | None = None,
    spiking: Mapping[str, bool] | None = None,
) -> list[str]:
    """The notes of a resolved config (settings accepted that do less than they say), one line
    each, in the order the kinds declared them (:data:`~snnattack.values.NOTES`).

    ``written``: the same config unresolved (``OmegaConf.to_container(cfg, resolve=False)``),
    which the notes of :data:`~snnattack.values.WRITTEN_NOTES` read first, as they depend on
    whether a key was set rather than on the value it resolves to; without it (a resolved
    tree alone) they are left out. ``spiking``: whether each network passed to the Python API
    spikes, by the box it crafts for (:func:`~snnattack.attacks.crafting.spiking`), which the
    notes of the rows crafted on an ANN read instead of the ``train.kind`` that labels it (the
    attacks judge the network itself: a note by the label said the opposite of what ran);
    None, or a box it leaves out: judged by the kinds, as a job's models are built
    (:data:`~snnattack.settings.SPIKING_PASSED`)."""
    if spiking:
        resolved = {**resolved, SPIKING_PASSED: dict(spiking)}
    found = []
    if written is not None:
        found = [line for note in WRITTEN_NOTES.values() for line in note(resolved, written)]
    return found + [line for note in NOTES.values() for line in note(resolved)]


def validate(
    cfg: DictConfig, output_dir: Path | None = None, spiking: Mapping[str, bool] | None = None
) -> tuple[str, ...]:
    """Raises :class:`ConfigError` naming the first key whose value is not accepted.

    The checks in the module's order (:func:`checked`, which spells the numbers in ``cfg``),
    then (with ``output_dir``: a job) the data files and that the output folder and the store
    can be written. Settings accepted with a note (:func:`notes`, which reads ``spiking``: the
    Python API's networks, by box) are logged, and returned: computed once here, the job's
    settings keep them for its record (:class:`~snnattack.settings.JobSettings`).
    """
    resolved = checked(cfg)
    if output_dir is not None:
        job_files(resolved)
        writable(Path(output_dir), "the output folder")
    written = OmegaConf.to_container(cfg, resolve=False)
    return logged(notes(resolved, written=written, spiking=spiking))


def logged(found: Iterable[str]) -> tuple[str, ...]:
    """The notes ``found``, each logged as a warning: a job's, whether validation or the job
    itself found them (a note of its store lookup, :mod:`snnattack.training.workers`)."""
    found = tuple(found)
    for line in found:
        log.warning("note: %s", line)
    return found


def checked(cfg: DictConfig, machine: bool = True) -> dict[str, Any]:
    """``cfg`` resolved, once its keys, their values and their combinations passed (each
    number set plainly spelt in ``cfg`` as its rule spells it, and every number of the tree
    returned as :func:`~snnattack.config.spelling.spelt` spells it): what :func:`validate`
    checks of any config, a job's or the Python API's, without a note logged; with
    ``machine``, also what this machine must hold for it (the checks from
    :data:`~snnattack.values.MACHINE` on: devices, cores, memory, model files)."""
    # before every kind declared its rules, a rule left out would let a wrong value through:
    # a programming error, not the user's
    missing = [name for name in DECLARING if name not in sys.modules]
    if missing:
        raise RuntimeError(
            "config.validation.validate runs the rules that the kinds declare, and "
            f"{', '.join(missing)} is not imported: import snnattack.job or snnattack.api (or "
            "the package) first"
        )
    unresolved = OmegaConf.to_container(cfg, resolve=False)
    check_keys(unresolved)
    resolved = resolve(cfg)
    read = {key: listed(key, resolved.get(key)) for key in LISTS}  # eps=8: a list of one
    resolved.update((key, list(value)) for key, value in read.items())  # a Bare as a plain list
    order = {name: CHECKS.orders.get(name, 0.0) for name in CHECKS}  # a test's patch: 0
    for name, check in CHECKS.items():  # which keys each kind takes, before their values
        if order[name] < KEYS:
            check(resolved)
    try:
        check_rules((key, read.get(key, value)) for key, value in flat(resolved))
    except ConfigError as err:
        raise ConfigError(f"{err}{from_environment(str(err), unresolved)}") from None
    for name, check in CHECKS.items():  # the combinations, then the machine
        if KEYS <= order[name] and (machine or order[name] < MACHINE):
            check(resolved)
    spell_config(cfg, resolved)
    return resolved


def from_environment(line: str, unresolved: dict[str, Any]) -> str:
    """Where the refused key of ``line`` took its value from an environment variable that
    stands in for a default (its config's ``${oc.env:VAR,default}``, as ``store.dir`` does),
    the words that say so, else nothing: the user set the variable, not the key."""
    key = line.split("=", 1)[0]
    said = dotted_value(unresolved, key)
    found = re.fullmatch(r"\$\{oc\.env:(\w+),.*\}", said) if isinstance(said, str) else None
    if found is None or found.group(1) not in os.environ:
        return ""
    variable = found.group(1)
    return (
        f" (from the environment variable {variable}={os.environ[variable]!r}: unset it for "
        f"the default, or set it to an accepted value)"
    )


def job_files(resolved: dict[str, Any], fetched: dict[str, UserError | None] | None = None) -> None:
    """What a job reads and writes outside its folder, checked before it writes anything: a
    model of its own (not the Python API's), its data files (``fetched``: a sweep's
    downloads, :func:`~snnattack.config.preflight.data_files`), a store it can write."""
    if resolved["model"]["name"] == PASSED:  # the Python API's name of a network passed to it
        raise ConfigError(
            f"model.name={PASSED} stands for a network passed to the Python API "
            "(snnattack.evaluate, attack), which a job does not have; accepted: model=<a model "
            "of models/, e.g. digits_net or vgg11>, or model=external (a network of your code)"
        )
    data_files(resolved, fetched)
    writable(Path(resolved["store"]["dir"]).expanduser(), "store.dir", must_exist=False)


def check_sweep(
    jobs: Iterable[tuple[list[str], DictConfig | None]],
    here: bool,
    models: Callable[[DictConfig], object] | None = None,
) -> None:
    """Refuses a sweep before its first job where the checks that a job makes before it
    writes anything (but its folder's) refuse the config of every one of its ``jobs`` (each
    job's overrides and config, as its launch composes it; None: a config that reads what
    only the job's launch sets, ``${hydra:runtime.output_dir}``, the job's to check): a
    mistake that every job would make (``dataset=cifar10`` beside the digits model, data not
    on disk) is one line, and the launch writes nothing, not a failure per job. The jobs are
    checked until one passes: where only some are refused, the others run and each refused
    job fails alone, as the sweep's summary then says. What the machine and its files must
    hold is checked only where the jobs run ``here`` (a launcher on this machine, not a
    cluster's nodes), and elsewhere a config that does not resolve here (an environment
    variable of the nodes) is the jobs' to check. There ``models`` (the kinds' check of the
    model files, :func:`snnattack.job.check_model_files`: ``config/`` imports no kind) loads
    each ``checkpoint=`` file into the job's configured model, so that a whole file of
    another network is refused once too, not in each job in turn."""
    refused: list[tuple[int, list[str], str]] = []
    fetched: dict[str, UserError | None] = {}  # the jobs' downloads, made here once each
    for num, (overrides, cfg) in enumerate(jobs):
        if cfg is None:
            return
        if not here:
            try:
                OmegaConf.to_container(cfg, resolve=True)
            except OmegaConfBaseException:
                return  # a value of the nodes' environment (${oc.env:SLURM_TMPDIR}): theirs
        try:
            resolved = checked(cfg, machine=here)
            if here:
                job_files(resolved, fetched)
                if models is not None:
                    models(cfg)
        except UserError as err:
            refused.append((num, overrides, " ".join(str(err).split())))
            continue
        return  # a job passes: the sweep launches
    if refused:
        raise UserError(refused_jobs_line(refused, "the sweep launched no job", "is"))
