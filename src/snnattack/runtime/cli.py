"""The command line's error handling: every mistake a user can fix is one line and exit code 2.

Hydra composes the config before the job function runs, so a mistyped group choice
(``model=vgg12``, ``experiment=typo``, which Hydra would silently skip because the group is
optional) or an unknown key would otherwise print Hydra's several lines and exit 1.
:func:`main` checks group choices against the config folder first, then runs Hydra with
its exceptions passed through and turns the ones a user can fix into one line. ``--help``
prints :func:`help_text` instead of Hydra's stock page. The command line as Hydra reads it
is :mod:`snnattack.runtime.command_line`'s; the launchers' and sweepers' checks are
:mod:`snnattack.runtime.launchers`'.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import textwrap
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml
from hydra._internal.utils import get_args_parser  # Hydra's own parser of run.py's argv
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, Transformer
from hydra.core.plugins import Plugins
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import InterpolationResolutionError

from snnattack.config.folders import writable
from snnattack.config.keys import (
    LISTING,
    bare_config_error,
    canonical,
    choice_files,
    choices_with,
    experiment_hint,
    file_keys,
    global_choices_with,
    is_known,
    list_groups,
    method_algorithm,
    one_choice_groups,
    readers,
    schema,
    unknown_key_error,
    unreadable_yaml,
    unresolved,
)
from snnattack.config.plain_rules import PLAIN, check_rules, listed
from snnattack.errors import ConfigError, UserError, WorkerLost
from snnattack.runtime.command_line import (
    choice_names,
    chosen_groups,
    config_file,
    file_hydra,
    file_sweep,
    hydra_option,
    multirun,
    number_too_long,
    parsed_overrides,
    user_config_dirs,
    with_file_sweep,
)
from snnattack.runtime.launchers import (
    check_basic_sweep,
    check_hydra_added,
    check_launcher_counts,
    check_local_tasks,
    hydra_param_line,
    sweeper_of,
    swept_choice_settings,
)
from snnattack.values import as_typed, matches, near, params_known

EXIT_USER_ERROR = 2
SOURCE = Path(__file__).resolve().parents[1]  # the package's modules (snnattack/)
HYDRA_FILES = (".hydra",)  # what Hydra writes into a job folder before the job runs
LOGGER_FOLDERS = ("csv", "lightning_logs")  # the folders a job's loggers make as it starts
_MERGE = re.compile(r"(Cannot merge \w+ with \w+)\s.*object_type=(dict|list)", re.DOTALL)
_OVERRIDE = re.compile(r"Error merging override ([^=\s]+)=(.*)")  # the value: the line's rest
GRID_AXIS = re.compile(r"attack\.tune\.grids\.[^.]+\.[^.]+")  # a gradient mode's parameter
GRID = re.compile(r"attack\.tune\.grids\.[^.]+")  # a gradient mode's whole grid
_DELETE = re.compile(r"Could not delete from config\. '([^']+)' does not exist")
_AMBIGUOUS = re.compile(r"Ambiguous value for argument '([^=']+)=(.*)'$", re.MULTILINE)
# a sweep function's values without -m (eps=range(4,17,4), lambda=choice(0.5,0.9))
_SWEEP_RUN = re.compile(r"^Sweep parameters '([^=']+)=(.*)' requires --multirun$")
# Hydra's struct error for a method's parameter that its config does not set
_GROUP_PARAM = re.compile(r"Could not override '(method|analysis)\.([^.']+)\.([^.']+)'")
# the lines of failures said once a job's results stood (fail_at_end): this command exits 2
_FAILED_AFTER_RESULTS: list[str] = []


def one_line(err: BaseException) -> str:
    """The user-facing line of ``err``; a DataLoader worker's wrapped error (PyTorch's re-raise
    with the worker's traceback as its message) is unwrapped to its last line."""
    text = str(err).strip()
    if "Original Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(f"{type(err).__name__}: ", 1)[-1]
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def group_choices(folder: Path) -> list[str]:
    """The choices of a config group: its YAML files, without the internal ``_*`` ones."""
    return [p.stem for p in choice_files(folder.parent, folder.name)]


EXAMPLES = (
    ("python run.py -m attack=rga,stbp lambda=0.5,0.9,1.0", "STBP vs RGA at three leaks (digits)"),
    ("python run.py -m -cd experiments -cn digits_table2", "a paper table's sweep and its report"),
    ("python run.py experiment=cifar10_vgg11 trainer=gpu", "a paper setting on CIFAR-10, one GPU"),
)  # the commands --help shows first


def help_text(conf_dir: Path) -> str:
    """``python run.py --help``: what it does, three example commands, the config groups and
    their choices (internal ``_*`` files left out) and the experiment files."""
    width = max(len(cmd) for cmd, _ in EXAMPLES)
    lines = [
        "Train (or reuse) spiking networks and attack them; every setting is a key=value.",
        "",
        "Examples:",
        *(f"  {cmd:<{width}}  # {what}" for cmd, what in EXAMPLES),
        "",
        "Config groups (group=choice; -m sweeps comma-separated choices):",
    ]
    for folder in sorted(p for p in conf_dir.rglob("*") if p.is_dir() and group_choices(p)):
        group = folder.relative_to(conf_dir).as_posix()
        lines += _wrapped(f"{group}: ", group_choices(folder))
    experiments = conf_dir.parent / "experiments"
    if experiments.is_dir():
        lines += ["", "Experiments (python run.py -m -cd experiments -cn NAME):"]
        lines += _wrapped("", group_choices(experiments))
    lines += [
        "",
        "Every key and its default: python run.py --cfg job (each has a comment in conf/).",
        "Errors and what to do: docs/errors.md. Hydra's own options: python run.py --hydra-help",
    ]
    return "\n".join(lines)


def _wrapped(head: str, names: list[str]) -> list[str]:
    return textwrap.wrap(
        head + ", ".join(names), width=96, initial_indent="  ", subsequent_indent="    "
    )


def _key_overrides(argv: list[str], conf_dir: Path) -> list[Override]:
    """The overrides of ``argv`` that set a key (``key=value``, ``+key=value``): not a config
    group of ``conf_dir`` or of the user's config folders (``-cd experiments``' ``defense``),
    Hydra's own node or a deletion."""
    users = user_config_dirs(argv, conf_dir)
    folders = [conf_dir, *(users or [])]
    return [
        o
        for o in parsed_overrides(argv)
        if not (
            o.is_delete()
            or o.key_or_group.startswith("hydra")
            or any((f / o.key_or_group).is_dir() for f in folders)
            or (users is None and "." not in o.key_or_group)  # maybe a group of a pkg:// path
        )
    ]


def check_given_once(argv: list[str]) -> None:
    """Refuses a key or config group that the command line sets twice to different values
    (``lambda=0.5 lambda=0.9``, ``attack=rga attack=stbp``, ``hydra.run.dir=a hydra.run.dir=b``):
    Hydra silently takes the last, and a user who meant a sweep gets one job. Not refused: the
    same value twice (nothing is lost), a ``+key=`` of a key already set (Hydra refuses it
    itself), and a key set again after its ``~key`` deletion (``~key +key=[...]`` replaces a
    dict by a list)."""
    given: dict[tuple[str, str | None], Override] = {}
    for override in parsed_overrides(argv):
        key = (override.key_or_group, override.package)
        if override.is_delete():
            given.pop(key, None)
            continue
        first = given.setdefault(key, override)
        if first is override or override.is_add():
            continue
        values = [o.input_line.split("=", 1)[1] for o in (first, override)]
        if values[0] != values[1]:
            name = override.key_or_group
            sweep = (  # Hydra's own settings are the run's, not a job's: none sweeps
                ""
                if name.startswith("hydra")
                else f", or a sweep of them with -m ({name}={','.join(values)})"
            )
            raise ConfigError(
                f"{name} is given twice ({first.input_line}, {override.input_line}); accepted: "
                f"one value per key{sweep}"
            )


def check_override_keys(argv: list[str], conf_dir: Path, listing: str = LISTING) -> None:
    """Refuses an override (``key=value`` or ``+key=value``) of a key that is neither a
    config group of ``conf_dir`` nor a key the project reads (:mod:`snnattack.config.keys`),
    before Hydra composes anything; ``listing``: what lists the keys, in the caller's words."""
    for override in _key_overrides(argv, conf_dir):
        key = override.key_or_group
        if not is_known(key, conf_dir):
            names = choice_names(override.value())
            raise unknown_key_error(key, names[0] if names else None, conf_dir, listing)


def check_values(argv: list[str], conf_dir: Path) -> None:
    """Refuses an override whose value, or a value of a sweep's (``-m lambda=0.5,1.5``), a
    rule that names no kind refuses (:mod:`snnattack.config.plain_rules`), in a second, before
    Hydra composes anything and before the job's stack loads: a sweep's mistyped value stops
    it before any of its jobs runs. Values as :func:`set_values` reads them; the job's
    validation checks every key again."""
    check_rules(set_values(argv, conf_dir), PLAIN)


def set_values(argv: list[str], conf_dir: Path, swept: bool = False) -> list[tuple[str, Any]]:
    """Each (key, value) that the overrides of ``argv`` set (only its sweeps' with ``swept``),
    each value of a sweep's, as the rules read them; an interpolation (the composed config's),
    a dict (Hydra's to merge) and a method's parameter that its file does not set left out."""
    return [
        (o.key_or_group, listed(o.key_or_group, value))
        for o in _key_overrides(argv, conf_dir)
        if (o.is_sweep_override() or not swept) and _set_by_its_file(o.key_or_group, conf_dir)
        for value in _values(o)
        if "${" not in str(value) and not isinstance(value, dict)
    ]


def _set_by_its_file(key: str, conf_dir: Path) -> bool:
    """Whether ``key`` is not a method's parameter that the method's file leaves unset
    (``method.fgsm.steps``): whether the method takes it at all is its code's to say, which the
    job's validation asks before the range that the methods taking it share."""
    group, _, rest = key.partition(".")
    method, _, name = rest.partition(".")
    if group != "method" or not name or "." in name:
        return True
    return name in file_keys(conf_dir / "method" / f"{method}.yaml")


def _values(override: Override) -> list[Any]:
    """The values an override sets: its one, or each of its sweep's (none for an interval,
    which a sampling sweeper draws from)."""
    if not override.is_sweep_override():
        return [override.value()]
    try:
        swept = override.sweep_iterator(transformer=Transformer.identity)
    except HydraException:
        return []
    return [Override._convert_value(v) for v in swept]  # a quoted value as its text


# Hydra's folder settings that must name a folder, with what they accept
FOLDERS = {
    "hydra.run.dir": "a folder of its own (the default: outputs/<date>/<time>)",
    "hydra.sweep.dir": "a folder of its own (the default: multirun/<date>/<time>)",
    "hydra.sweep.subdir": "a folder per job (${hydra.job.num}, ${hydra.job.override_dirname})",
}


# Hydra's options with which it prints and makes no job folder (run.py --cfg job from a
# read-only folder is no mistake)
NO_FOLDER = ("--cfg", "-c", "--info", "-i", "--hydra-help", "--shell-completion", "-sc")


# Hydra settings of this package's callbacks that are switches, with what they accept (the
# job's checks never see the hydra node: a text such as 'no' would read as true)
SWITCHES = {
    "hydra.callbacks.report.single": "true (a single run's report into its folder, the "
    "default) or false (none; a sweep's report is made either way)",
}


def check_hydra_folders(argv: list[str], conf_dir: Path) -> None:
    """Refuses a switch of :data:`SWITCHES` that is not true or false, ``hydra.job.chdir=true``
    (:func:`refuse_chdir`), a folder setting of :data:`FOLDERS` of no name, and a
    ``hydra.sweep.dir`` that interpolates a swept key or a job's own setting (``sw_l${lambda}``).
    Each folder setting (the command line's, else the ``-cn`` file's, else the package's) is
    refused naming its key (Hydra's ``mkdir`` names none) where it is a file
    (:func:`check_not_a_file`) or, for the folder the run makes (none with :data:`NO_FOLDER`),
    cannot be written or made or stores no files (:func:`~snnattack.config.folders.writable`)."""
    overrides = parsed_overrides(argv)
    sweep = multirun(argv, conf_dir)
    folders = (
        _file_folders(file_hydra([], conf_dir))  # conf/config.yaml's: outputs/<time>
        | _file_folders(file_hydra(argv, conf_dir))
        | {o.key_or_group: o.value() for o in overrides if o.key_or_group in FOLDERS}
    )
    writes = not any(a in NO_FOLDER for a in argv)
    swept = [o.key_or_group for o in overrides if o.is_sweep_override()]
    swept += list(file_sweep(argv, conf_dir))  # the -cn file's sweep
    for override in (o for o in overrides if not o.is_delete()):  # Hydra refuses those
        key = override.key_or_group
        if key == "hydra.job.chdir":
            refuse_chdir(override.value())
        if key in SWITCHES and not isinstance(override.value(), bool):
            raise ConfigError(  # a text ('no') would be taken as true by the callback
                f"{key}={as_typed(override.value())} is not true or false; accepted: "
                f"{SWITCHES[key]}"
            )
        if key in FOLDERS and not str(override.value() or "").strip():
            raise ConfigError(
                f"{key}={as_typed(override.value())} names no folder: the job's files "
                "(metrics.json, run.log, .hydra/) would be written into the folder it is launched "
                f"from, or every job of a sweep into one; accepted: {FOLDERS[key]}"
            )
        if key != "hydra.sweep.dir":
            continue
        value = str(override.value())
        used = [
            k
            for k in swept
            if re.search(rf"\$\{{(hydra[.:]runtime\.choices\.)?{re.escape(k)}\}}", value)
        ]
        if used or re.search(r"\$\{hydra[.:]job\.(num|id|override_dirname)\}", value):
            per = f"value of {', '.join(used)}" if used else "job (hydra.job.num, ...)"
            subdir = f"{used[0]}${{{used[0]}}}" if used else "${hydra.job.override_dirname}"
            raise ConfigError(
                f"hydra.sweep.dir={value} names a folder per {per}: the sweep's summary, "
                "failures and report are made in its one folder and would see no job; "
                "accepted: a hydra.sweep.dir without them, and hydra.sweep.subdir=... for each "
                f"job's folder (e.g. hydra.sweep.subdir={subdir})"
            )
    for key, value in folders.items():
        path = str(value or "")
        if key == "hydra.sweep.subdir":  # below the sweep's folder ('' below the default's time)
            above = folders.get("hydra.sweep.dir")
            path = str(Path(str(above), path)) if above else ""
        check_not_a_file(key, value, path)
        made = writes and key.startswith("hydra.sweep.") == sweep  # a folder the run makes
        # a path that starts with an interpolation (${oc.env:HOME}/x) is left to Hydra; one
        # that holds one later is checked from the folder above it that exists
        if made and path and not path.startswith("${"):
            writable(Path(path), key, must_exist=False, read_only_ok=False)


def _file_folders(hydra: object) -> dict[str, object]:
    """The folder settings of :data:`FOLDERS` that a config file's ``hydra`` node sets
    (``hydra: {run: {dir: ...}}``)."""
    found = {}
    for key in FOLDERS:
        node = hydra
        for part in key.split(".")[1:]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str | Path) and str(node).strip():
            found[key] = node
    return found


def check_not_a_file(key: str, value: object, path: str) -> None:
    """Refuses a folder setting of :data:`FOLDERS` (``hydra.run.dir=results.csv``) whose
    ``path`` (a ``hydra.sweep.subdir``'s below the ``hydra.sweep.dir``), or a folder above it,
    is a file. A path that interpolates (``${now:...}``) is left to Hydra."""
    if not path or "${" in path:
        return
    for folder in (Path(path), *Path(path).parents):
        if folder.exists():
            if folder.is_dir():
                return
            said = f"lies below {folder}, which is a file"
            if folder == Path(path):
                said = "names a file" + (f" ({path})" if path != str(value) else "")
                said += ", not a folder"
            raise ConfigError(f"{key}={value} {said}; accepted: {FOLDERS[key]}")


def refuse_chdir(chdir: object) -> None:
    """Refuses ``hydra.job.chdir=true`` (on the command line, before any job; set in a config
    file, by each job): the config's relative paths would name another folder per job."""
    if chdir is True:
        raise ConfigError(
            "hydra.job.chdir=true would run each job in its own folder, where the relative "
            "paths (store.dir, dataset.params.root, checkpoint=...) name another folder per "
            "job: each job would train its models again; accepted: hydra.job.chdir=false (each "
            "job writes into its own folder anyway)"
        )


def check_argument_form(argv: list[str]) -> None:
    """Refuses arguments that Hydra would not read as its options and overrides: an unknown
    option, an override split by spaces (``lambda = 0.5``), a key without a value and a value
    without a key (``=3``, ``=abc``)."""
    parser = get_args_parser()

    def refused(message: str) -> NoReturn:
        raise ConfigError(
            f"{message}; accepted: the options that python run.py --help lists (-m, -cd DIR, "
            "-cn NAME, --cfg job, ...) and key=value overrides"
        )

    parser.error = refused  # type: ignore[method-assign]
    args, unknown = parser.parse_known_args(argv)
    if unknown and all("=" in a or a[0] in "~+" for a in unknown):
        raise ConfigError(
            f"{' '.join(unknown)} come after an option that follows other overrides (Hydra reads "
            "one run of overrides); accepted: the options first, then every key=value"
        )
    if unknown:
        refused(f"unrecognized arguments: {' '.join(unknown)}")
    modes = [
        flag
        for flag, given in (
            ("-m", args.multirun),
            ("--run", args.run),
            ("--cfg", args.cfg),
            ("--info", args.info),
            ("--shell-completion", args.shell_completion),
        )
        if given
    ]
    if len(modes) > 1:
        raise ConfigError(
            f"{' and '.join(modes)} cannot go together: Hydra does one of -m, --run, --cfg, "
            "--info, --shell-completion; accepted: one of them (to see one job of a sweep: "
            "--cfg job without -m, one value per swept key)"
        )
    words = list(args.overrides)
    for word in words:
        if "=" in word and number_too_long(word):
            raise too_long_error(word)
    for word in words:
        key, _, value = word.partition("=")
        if "=" in word and key != key.rstrip():  # Hydra's lexer refuses it; after '=' it reads
            raise ConfigError(
                f"'{word}' has a space before '='; accepted: {key.strip()}={value.strip()} "
                "(key=value with no space around '='; quoted where the value holds spaces: "
                "'key=a b')"
            )
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        pieces = None
        if word.startswith("=") and i and "=" not in words[i - 1]:
            pieces = words[i - 1 : i + 1 + (word == "=" and "=" not in after)]
        elif word.lstrip("~+").startswith("="):
            raise ConfigError(
                f"'{word}' has no key before '='; accepted: key=value, e.g. lambda=0.5 (python "
                "run.py --cfg job lists the keys)"
            )
        elif word.endswith("=") and after and "=" not in after and after[0] not in "~+":
            pieces = [word, after]
        elif "=" not in word and not word.startswith("~") and not after.startswith("="):
            raise ConfigError(
                f"{word} has no value; accepted: {word}=<value> (python run.py --cfg job lists "
                f"the keys), or ~{word} to remove it"
            )
        if pieces:
            raise ConfigError(
                f"'{' '.join(pieces)}' is one override split by spaces; accepted: "
                f"{''.join(pieces)} (key=value as one argument; quoted where the value holds "
                "spaces: 'key=a b')"
            )


# the settings of a sweep (-m): where it writes, its sweeper and its launcher (a cluster's)
SWEEP_ONLY = (
    "hydra.sweep.",
    "hydra.sweeper.",
    "hydra/sweeper",
    "hydra.launcher.",
    "hydra/launcher",
)


def check_sweep_settings(argv: list[str], conf_dir: Path) -> None:
    """Refuses an override of a sweep's settings on a run that is no sweep (no ``-m``), which
    Hydra leaves unread: ``hydra.sweep.dir=D`` wrote the job elsewhere,
    ``hydra/launcher=submitit_slurm`` ran it here instead of on the cluster, without a word.
    A launcher's key without a launcher chosen is left to the compose, which names the
    launchers that have it."""
    args, _ = get_args_parser().parse_known_args(argv)
    if args.cfg or args.info or args.shell_completion or multirun(argv, conf_dir):
        return
    words = list(args.overrides)
    chosen = any(w.lstrip("+").startswith("hydra/launcher=") for w in words)
    for word in words:
        key, _, value = word.partition("=")
        key = key.lstrip("~+")
        if "=" not in word or not key.startswith(SWEEP_ONLY):
            continue
        if key.startswith("hydra.launcher.") and not chosen:
            continue
        if key.startswith("hydra/") and value not in _hydra_choices(key, conf_dir):
            continue  # an unknown one: the compose names the choices
        swept = key.removeprefix("hydra.sweeper.params.")
        if swept != key:  # an experiment file's form of a swept key
            raise ConfigError(
                f"{word} sweeps {swept} through the sweeper's settings, which a run without "
                f"-m does not read; accepted: {swept}={value} (one run), or -m {swept}=... "
                "(a sweep)"
            )
        here = " (this run's folder: hydra.run.dir=...)" if key.startswith("hydra.sweep.") else ""
        raise ConfigError(
            f"{word} sets a sweep's {'launcher' if 'launcher' in key else 'settings'}, "
            f"which a run without -m does not read{here}; accepted: python run.py -m ... "
            f"{word} (a sweep of one job where no key takes several values)"
        )


def _hydra_choices(group: str, conf_dir: Path) -> set[str]:
    """The choices of Hydra's ``group`` (``hydra/launcher``): the package's files and those
    Hydra's plugins register."""
    Plugins.instance()  # registers the plugins' configs
    node = ConfigStore.instance().repo
    for part in group.split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    own = {p.stem for p in (conf_dir / group).glob("*.yaml")}
    return own | {name.removesuffix(".yaml") for name in node}


def too_long_error(word: str) -> ConfigError:
    """The line of an override holding an integer longer than Python reads
    (:func:`~snnattack.runtime.command_line.number_too_long`), with its key's accepted values
    where a rule that names no kind has them."""
    key, limit = word.partition("=")[0].lstrip("~+"), sys.get_int_max_str_digits()
    rules = [rule for pattern, rule in PLAIN.items() if matches(key, pattern)]
    accepted = rules[0].describe().format(key=key) if rules else "a number of fewer digits"
    return ConfigError(
        f"{key}= holds an integer of more than {limit} digits, more than Python reads; "
        f"accepted: {accepted}"
    )


def check_config_name(argv: list[str], conf_dir: Path) -> None:
    """Refuses a ``-cn NAME`` with no ``NAME.yaml`` in the ``-cd`` folder nor in ``conf_dir``,
    naming the configs of the folder (a benchmark's protocols, the sweeps of
    ``experiments/``), instead of Hydra's search path."""
    name, cd = hydra_option(argv, "-cn", "--config-name"), hydra_option(argv, "-cd", "--config-dir")
    if cd is not None and not Path(cd).is_dir():
        here = f" of {Path.cwd()}" if not Path(cd).is_absolute() else ""
        beside = conf_dir.parent / cd  # the checkout's experiments/, beside its conf/
        hint = f" (-cd {beside})" if here and beside.is_dir() else ""
        raise ConfigError(
            f"-cd {cd} is not a folder{here}; accepted: an existing folder of configs{hint}"
        )
    if name is None or hydra_option(argv, "-cp", "--config-path") is not None:
        return  # -cp: a folder relative to the app's module, Hydra's to find
    if config_file(argv, conf_dir) is not None:
        return
    folder = Path(cd or conf_dir)
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    raise ConfigError(
        f"-cn {name} is not a config of {folder}{near(name, names)}; "
        f"accepted: {', '.join(names) or f'a folder with configs (-cd; {folder} has none)'}"
    )


def check_not_shadowed(argv: list[str], conf_dir: Path) -> None:
    """Refuses a file of the user's config folders that a run would take but Hydra never
    reads, as ``conf_dir`` has its namesake and is searched first: a chosen group file
    (``method/pgd.yaml`` with ``method=[pgd]``, or in the package's default choices), or a
    ``config.yaml`` run as the primary config. The user's would be silently ignored."""
    folders = user_config_dirs(argv, conf_dir) or []
    if not folders:
        return
    name = (hydra_option(argv, "-cn", "--config-name") or "config").removesuffix(".yaml")
    taken = [Path("config.yaml")] if name == "config" else []
    taken += [
        Path(group, f"{c}.yaml")
        for group, names in chosen_groups(argv, conf_dir).items()
        if (conf_dir / group).is_dir()  # a config group, not a key
        for c in names
    ]
    for folder in folders:
        for relative in taken:
            path = folder / relative
            if not relative.is_absolute() and path.is_file() and (conf_dir / relative).is_file():
                raise ConfigError(
                    f"{path} is never read: Hydra takes the package's "
                    f"conf/{relative.as_posix()} of that name first; accepted: another name "
                    f"for your file (e.g. {relative.with_stem(relative.stem + '_mine').as_posix()}"
                    f"), chosen by that name"
                )


def check_starts_from_package(argv: list[str], conf_dir: Path) -> None:
    """Refuses a ``-cn`` file of the user's whose defaults never reach the package's
    ``config``, itself or through the user's other files: without the package's groups and
    its ``hydra.callbacks`` (which keep a refused job's folder, sum up a sweep and set its exit
    code) each job would be refused alone. Where a default cannot be followed (a ``pkg://``
    search path, a file not found) the job judges."""
    folders = user_config_dirs(argv, conf_dir)
    path = config_file(argv, conf_dir)
    if folders is None or path is None or path.parent.resolve() == conf_dir.resolve():
        return
    if not _reaches_package(path, [conf_dir, *folders], set()):
        raise bare_config_error(conf_dir)


def _reaches_package(path: Path, folders: list[Path], seen: set[Path]) -> bool:
    """Whether the config file ``path`` names the package's ``config`` in its defaults, or a
    file that does, found as Hydra finds it (the first of ``folders``); true where it cannot
    be told (an unreadable file, a default found in none of them)."""
    seen.add(path.resolve())
    try:
        tree = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return True
    defaults = tree.get("defaults") if isinstance(tree, dict) else None
    for entry in defaults if isinstance(defaults, list) else []:
        name = entry.removeprefix("optional").strip().strip("/") if isinstance(entry, str) else ""
        if name in ("", "_self_"):
            continue  # a group's choice (attack: pgd), or the file itself
        file = f"{name.removesuffix('.yaml')}.yaml"
        found = [f / file for f in folders if (f / file).is_file()]
        if not found or found[0] == folders[0] / "config.yaml":
            return True
        if found[0].resolve() not in seen and _reaches_package(found[0], folders, seen):
            return True
    return False


def check_group_choices(argv: list[str], conf_dir: Path) -> None:
    """Refuses a config-group choice on the command line that names no file in ``conf_dir``
    nor in the user's config folders (:func:`user_config_dirs`)."""
    users = user_config_dirs(argv, conf_dir)
    folders = [conf_dir, *(users or [])]
    listing = sweeper_of(argv, conf_dir) in ("basic", "choice")  # not a sampling sweeper
    for override in parsed_overrides(argv, bare_deletions=True):
        key = override.key_or_group
        groups = [f / key for f in folders]
        if override.is_add() and (conf_dir / key).is_dir():
            raise _added_group(override, key, None if users is None else groups)
        if override.is_delete() and key in (listed := list_groups(conf_dir)):
            # Hydra's "Could not delete 'method'. No match in the defaults list" (its value: a
            # traceback)
            none = "" if listed[key] else f"{key}=[] for none, or "
            raise ConfigError(
                f"{override.input_line} removes {key}, a list of choices (its default: "
                f"[{', '.join(listed[key])}]), which Hydra cannot remove; accepted: {none}"
                f"{key}=[...] of {', '.join(group_choices(conf_dir / key))}"
            )
        if isinstance(override.value(), IntervalSweep) and listing:
            raise ConfigError(
                f"{override.input_line} is a continuous range, which only a sampling sweeper "
                "(Optuna, Nevergrad) draws from; accepted: a list of values "
                f"({key}=a,b,c) or range(start,stop,step)"
            )
        if (
            override.is_delete()
            or key.startswith("hydra")
            or not any(g.is_dir() for g in groups)
            or users is None  # a pkg:// search path: Hydra finds its choices
        ):
            continue
        choices = _choices(groups)
        if not choices:  # a folder of the user's that is no group of configs
            folder = next(g for g in groups if g.is_dir())
            raise ConfigError(
                f"{override.input_line}: the config folder's {folder}/ makes {key} a config group "
                "(Hydra reads each folder of -cd as one), and it holds no config; accepted: a -cd "
                "folder of configs only"
            )
        names = choice_names(override.value())
        one = key in one_choice_groups(conf_dir)
        if one and isinstance(override.value(), list) and len(names) > 1:
            # Hydra would merge the files, the later's keys over the earlier's
            raise ConfigError(
                f"{override.input_line} lists {len(names)} choices of {key}, "
                f"which takes one; accepted: one of {', '.join(choices)}, or a sweep over them: "
                f"-m {key}={','.join(names)}"
            )
        lists = override.value().list if isinstance(override.value(), ChoiceSweep) else []
        for chosen in [v for v in [override.value(), *lists] if isinstance(v, list)]:
            if len(set(map(str, chosen))) < len(chosen):  # Hydra would take it once
                raise ConfigError(
                    f"{key}=[{','.join(map(str, chosen))}] repeats a choice; accepted: a list of "
                    f"distinct choices of {', '.join(choices)}"
                )
        unknown = _unknown_choice(key, names, choices)
        if unknown is not None:
            raise ConfigError(unknown)


def _choices(groups: list[Path]) -> list[str]:
    """The choices of a config group: the configs of its folders ``groups`` (the package's and
    the user's), each named once, in the folders' order."""
    return list(dict.fromkeys(c for g in groups if g.is_dir() for c in group_choices(g)))


def _unknown_choice(key: str, names: list[str], choices: list[str]) -> str | None:
    """The refusal of the first of ``names`` chosen for the group ``key`` that is none of its
    ``choices`` (with :func:`_hint`'s guess, a sweep of ``experiments/`` and how to run it), or
    of a ``null`` choice; None where each is a choice."""
    for name in names:
        if name == "null":  # Hydra takes none: a group is chosen, or left to its default
            return (
                f"{key}=null names no choice; accepted: {', '.join(choices)}, or no {key}= "
                "(its default)"
            )
        if name not in choices:
            hint = _hint(key, name, choices)
            return f"{key}={name} is unknown{hint}; accepted: {', '.join(choices)}"
    return None


def _added_group(override: Override, key: str, groups: list[Path] | None) -> ConfigError:
    """The refusal of a config group chosen with '+' (``+experiment=NAME``): the same line
    without '+' where it names choices of the group's folders ``groups``, else why that line
    would be refused too (:func:`_unknown_choice`: an unknown name, a sweep of
    ``experiments/`` and its command), so that the one message gives what works, not a second
    refusal after the user's fix. ``groups`` None (a ``pkg://`` search path, whose choices
    Hydra finds) leaves the names unchecked."""
    line = (
        f"{override.input_line} adds a group that the config has already (every config group "
        "is chosen without '+')"
    )
    choices = _choices(groups) if groups is not None else []
    unknown = _unknown_choice(key, choice_names(override.value()), choices) if choices else None
    if unknown is not None:
        return ConfigError(f"{line}, and {unknown}")
    # the value as typed: a sweep of -m (a,b) has no single element
    return ConfigError(f"{line}; accepted: {key}={override.get_value_string()}")


def _hint(group: str, name: str, choices: list[str]) -> str:
    """What a user most likely meant by an unknown group choice ("" if nothing): a sweep of
    ``experiments/``, a kind of training, or the most similar choice."""
    if group == "experiment":
        return experiment_hint(name)
    if group == "train":
        from snnattack.training import STRATEGIES  # only here: it imports torch

        if name in STRATEGIES:
            return f" (a kind of training, not a recipe: train.kind={name})"
    return near(name, choices)  # attack=RGA: rga, which a ratio of letters missed


def _form_line(err: HydraException) -> str | None:
    """An override of a dict by a list (or of a list by a dict), which Hydra cannot merge, as
    one line with the accepted form; None for other errors."""
    form = _MERGE.search(str(err.__cause__ or ""))
    override = _OVERRIDE.search(str(err))
    if form is None or override is None:
        return None
    key, value = override.groups()
    if GRID_AXIS.fullmatch(key):
        accepted = (
            f"a list of values or {{start: a, stop: b >= a, step: s > 0}}; a list in place of "
            f"the config's range (or the reverse) replaces it as '~{key}' '+{key}={value}'"
        )
    elif GRID.fullmatch(key) and value.startswith("{"):
        # a dict over the grid, one of whose axes changes form: Hydra merges it axis by axis
        accepted = (
            "each axis in the config's form (a list for a list, {start, stop, step} for a "
            f"range), or the whole grid replaced as '~{key}' '+{key}={value}'"
        )
    elif form.group(2) == "dict":
        accepted = f"a dict of names and values, e.g. {key}={{name:value}}"
    else:
        accepted = f"a list, e.g. {key}=[a,b]"
    return f"{key}={value} cannot replace a {form.group(2)} ({form.group(1)}); accepted: {accepted}"


def _grammar_line(err: HydraException) -> str | None:
    """An override that Hydra's grammar cannot parse, named (Hydra names only the input where
    it stopped), with why and the accepted forms, as one line; None for other errors."""
    if not isinstance(err, OverrideParseException):
        return None
    said = [ln.strip() for ln in err.message.splitlines()]
    why = [ln for ln in said if ln.strip("^") and not ln.startswith(("See ", "Error parsing"))]
    page = re.search(r"https://\S+", err.message)  # Hydra's page of its grammar
    key, _, value = str(err.override).partition("=")
    home = f", or a path from your home: {key}='{value}'" if value.startswith("~") else ""
    return (
        f"{err.override} cannot be parsed ({why[0] if why else 'Hydra says no more'}); "
        "accepted: key=value in Hydra's override grammar (a list [a,b], a dict {k:v}; quoted "
        f"where the value holds spaces: 'key=a b'{home}" + (f"; {page.group()})" if page else ")")
    )


def _missing_choice_line(err: HydraException) -> str | None:
    """A choice of one of Hydra's own groups that names no config (``hydra/launcher=paralel``:
    :func:`check_group_choices` leaves ``hydra/`` groups to Hydra, whose plugins add choices)
    in the line of any other group's unknown choice, from the options Hydra found; None for
    other errors."""
    if not isinstance(err, MissingConfigException) or not err.options:
        return None
    group, _, name = str(err.missing_cfg_file or "").rpartition("/")
    if not group.startswith("hydra/") or not name:
        return None  # a config file's own default names its file: Hydra's line says which
    choices = sorted(err.options)
    return f"{group}={name} is unknown{_hint(group, name, choices)}; accepted: {', '.join(choices)}"


def _sweep_without_m_line(err: HydraException) -> str | None:
    """``eps=8,16`` (or ``eps=range(4,17,4)``) without ``-m``: Hydra's three numbered ways out
    (its own flag named ``--multirun``; for a sweep function, its flag alone) in the line of
    any other refusal, the list of a sweep function's values spelt out; None for other
    errors."""
    found = _AMBIGUOUS.search(str(err)) or _SWEEP_RUN.search(str(err))
    if found is None:
        return None
    key, value = found.groups()
    listed = f", or {key}=[{value}] where {key} takes a list"
    if found.re is _SWEEP_RUN:  # the function's values, as Hydra draws them: range's numbers
        try:
            line = OverridesParser.create().parse_override(f"{key}={value}")
            listed = (
                f", or {key}=[{','.join(line.sweep_string_iterator())}] where {key} takes a list"
            )
        except Exception:  # glob(...) and interval(...) list nothing without their sweep
            listed = ""
    return (
        f"{key}={value} is a sweep (a job per value), which runs with -m only; accepted: "
        f"-m {key}={value} (the sweep){',' if listed else ' or'} one value{listed}"
    )


def _hydra_sweep_line(err: HydraException) -> str | None:
    """``-m hydra.sweeper.params.lambda=0.5,1.0`` (an experiment file's form of a sweep) or
    ``-m hydra.run.dir=a,b``: Hydra sweeps none of its own keys, and said so with the override
    alone; the swept key as the command line sweeps it. None for other errors."""
    found = re.search(r"configuration is not supported : '([^=']+)=([^']*)'", str(err))
    if found is None:
        return None
    key, value = found.groups()
    swept = key.removeprefix("hydra.sweeper.params.")
    if swept != key:
        return (
            f"{key}={value} sweeps {swept} through the sweeper's settings, which the command "
            f"line does not set; accepted: -m {swept}={value} (hydra.sweeper.params is an "
            "experiment file's form)"
        )
    return (
        f"{key}={value} sweeps a setting of Hydra's own, which Hydra does not sweep; accepted: "
        f"one value of {key}, a sweep (-m) per value"
    )


def _delete_line(err: HydraException, shown_by: str) -> str | None:
    """``~key`` where the composed config has no ``key`` or holds it null (Hydra removes only a
    key with a value), in one line with what is accepted; None for other errors."""
    found = _DELETE.search(str(err))
    if found is None:
        return None
    key = found.group(1)
    return (
        f"~{key} removes nothing: the config has no {key}, or it is null; accepted: ~ before "
        f"a key that {shown_by} shows with a value"
    )


def _group_param_line(
    err: HydraException, conf_dir: Path, named: Mapping[str, str], shown_by: str
) -> str | None:
    """``method.<key>.<param>=value`` (``analysis.<key>.<param>``) without ``+`` where the
    config does not set ``param``, in the job's words (Hydra's advice, a ``+``, fits only a
    parameter the method takes): the method or analysis is not chosen, or the method takes no
    such parameter (``named``, ``shown_by``: :func:`hydra_line`'s). None otherwise."""
    found = _GROUP_PARAM.search(str(err))
    advice = re.search(r"use \+(.+)$", str(err), re.MULTILINE)  # the override as given
    file = conf_dir / found.group(1) / f"{found.group(2)}.yaml" if found else None
    if found is None or advice is None or not file.is_file():
        return None
    group, key, param = found.groups()
    if f"Key '{key}' is not in struct" in str(err.__cause__):
        chosen = named.get(group, f"{group}=[...]")
        return (
            f"{group}.{key} sets {param} of {key}, which is not in the chosen {chosen}; "
            f"accepted: add {key} to {chosen} ({shown_by} lists the chosen)"
        )
    if group != "method":
        return None
    from snnattack.attacks.methods.base import METHODS  # only here: it imports torch

    name = method_algorithm(file, key)
    if name not in METHODS:
        return None  # the ensemble: its components are parsed from the config
    override = parsed_overrides([advice.group(1)])[0]
    try:
        params_known(f"method.{key}", {param: override.value()}, METHODS[name].make, skip=2)
    except ConfigError as refused:
        return str(refused)
    return None


def _other_choice_line(err: HydraException, conf_dir: Path, shown_by: str) -> str | None:
    """``dataset.params.root=...`` where the chosen ``dataset=`` has no ``root`` but another
    choice has: Hydra's advice, a ``+``, would add a key the chosen config refuses. None for
    other errors, and for a key that no choice of its group sets."""
    found = re.search(r"Could not override '([^']+)'", str(err))
    if found is None or "is not in struct" not in str(err.__cause__) + str(err):
        return None
    key = found.group(1)
    held = choices_with(key, conf_dir)
    if held is None:
        return _global_choice_line(err, key, conf_dir)
    if not held[1]:
        return None
    group, have = held
    if f"Key '{group}' is not in struct" in str(err.__cause__):  # no choice: ~group removed it
        return (
            f"{key} sets a key of the {group} group, which an override removed (~{group}); "
            f"accepted: {group}=<one of {', '.join(have)}> with it, which every job reads"
        )
    return (
        f"{key} is not a key of the chosen {group}= (it is one of {group}={', '.join(have)}); "
        f"accepted: {group}=<one of {', '.join(have)}> with it, or the keys of the chosen "
        f"{group} ({shown_by} shows them)"
    )


def _global_choice_line(err: HydraException, key: str, conf_dir: Path) -> str | None:
    """``pgd_alpha=0`` where only choices of a ``@package _global_`` group set the top-level
    key (the ``experiment=`` presets) and none is chosen: Hydra's advice, a ``+``, is named
    with the keys that read it (``method.pgd.alpha``), in one line. None for other keys."""
    held = global_choices_with(key, conf_dir)
    advice = re.search(r"use \+([^=\s]+)=(.*)$", str(err), re.MULTILINE)
    if not held or advice is None:
        return None
    value = advice.group(2)
    sets = " or ".join(
        f"{group}= ({group}={', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
        for group, names in held.items()
    )
    read = readers(key, conf_dir)
    also = f" ({', '.join(read[1:])} likewise)" if len(read) > 1 else ""
    other = f", or the key that reads it: {read[0]}={value}{also}" if read else ""
    return (
        f"{key} is set only by the choices of {sets}, and none is chosen; accepted: "
        f"+{key}={value} to add it{other}"
    )


def broken_code(err: HydraException) -> BaseException | None:
    """The error of the package's own code behind Hydra's (a module that fails to import while
    Hydra loads a callback or a target: a new method's ``import`` mistake): a programming
    error, whose traceback is the one to show, not a line naming the callback; None for other
    errors."""
    cause = err.__cause__
    while cause is not None:
        frames = traceback.extract_tb(cause.__traceback__)
        if not isinstance(cause, HydraException) and any(
            Path(f.filename).is_relative_to(SOURCE) for f in frames
        ):
            return cause
        cause = cause.__cause__
    return None


def _struct_line(err: HydraException) -> str | None:
    """``KEY=V`` without ``+`` where the config's node holds no such key and no choice of a
    group sets it (a gradient mode's parameter below ``train.adversary.params: {}``), in the
    job's form: Hydra's own line named no accepted override. None for other errors."""
    found = re.search(r"Could not override '([^']+)'", str(err))
    advice = re.search(r"use \+(.+)$", str(err), re.MULTILINE)  # the override as given
    if found is None or advice is None or "is not in struct" not in str(err.__cause__) + str(err):
        return None
    return (
        f"{found.group(1)} is not in the config, and an override without + only changes a key "
        f"it holds; accepted: +{advice.group(1)} to add it"
    )


def hydra_line(
    err: HydraException,
    conf_dir: Path,
    named: Mapping[str, str] | None = None,
    shown_by: str = "python run.py --cfg job",
) -> str:
    """Hydra's composition errors in one line: what could not be done, and why, in the
    caller's words (``named``: how it names a group's choices, the API's ``methods=[...]``;
    ``shown_by``: what shows the composed config)."""
    form = (
        _grammar_line(err)
        or _missing_choice_line(err)
        or _sweep_without_m_line(err)
        or _hydra_sweep_line(err)
        or _delete_line(err, shown_by)
        or _form_line(err)
        or _group_param_line(err, conf_dir, named or {}, shown_by)
        or _other_choice_line(err, conf_dir, shown_by)
        or hydra_param_line(err, conf_dir)
        or _struct_line(err)
    )
    if form is not None:
        return form
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        lines.insert(1, f"({str(cause).strip().splitlines()[0]})")
    return " ".join(lines)


def discard_job_folder(output_dir: Path) -> None:
    """Removes a job folder that holds only what Hydra wrote before the job was refused (and
    a logger's folder holding no file yet, :data:`LOGGER_FOLDERS`, made before a refusal
    during the work)."""
    if not output_dir.is_dir():
        return
    own = list(output_dir.iterdir())
    empty = [
        p for p in own if p.name in LOGGER_FOLDERS and not any(f.is_file() for f in p.rglob("*"))
    ]
    if all(p.name in HYDRA_FILES or p.name.endswith(".log") or p in empty for p in own):
        shutil.rmtree(output_dir, ignore_errors=True)


def refuse(err: UserError, output_dir: Path | None = None) -> None:
    """Prints ``err`` as one line, removes the untouched job folder, exits with code 2."""
    print(f"error: {one_line(err)}", file=sys.stderr)
    if output_dir is not None:
        discard_job_folder(output_dir)
    raise SystemExit(EXIT_USER_ERROR)


def fail_at_end(err: UserError) -> None:
    """Prints ``err`` as one line now; :func:`main` exits with code 2 once Hydra's run or sweep
    has ended. For a callback's failure after a job's results stand (its benchmark entry):
    exiting at once would skip the other callbacks' ends (reports, a sweep's other jobs). In a
    launcher's worker process (joblib's, submitit's) the exit code is not this command's: the
    sweep's end there looks again."""
    print(f"error: {one_line(err)}", file=sys.stderr)
    _FAILED_AFTER_RESULTS.append(one_line(err))


class ArgumentParser(argparse.ArgumentParser):
    """argparse for this project's other commands: a refused argument is one line and exit
    code 2, like ``run.py`` (argparse itself prints its usage block first)."""

    def error(self, message: str) -> NoReturn:
        """``message``, with where the accepted values are said unless it says them itself."""
        said = "; accepted: " in message
        refuse(ConfigError(message if said else f"{message}; accepted: see {self.prog} --help"))

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        """argparse's, an unknown option named first: argparse would first say that a
        positional argument is missing (``--foo`` alone: "required: folder")."""
        given = list(sys.argv[1:] if args is None else args)
        options = [o for a in self._actions for o in a.option_strings]
        for word in given[: given.index("--")] if "--" in given else given:
            name = word.split("=", 1)[0]
            if word[:1] != "-" or word == "-" or re.fullmatch(r"-\d[\d.e+-]*", word):
                continue  # a value, stdin, a negative number
            if not any(o == name or (name[:2] == "--" and o.startswith(name)) for o in options):
                self.error(f"unrecognized arguments: {word}")
        return super().parse_args(given, namespace)


def main(
    hydra_main: Callable[[], None],
    conf_dir: Path,
    check_swept: Callable[[list[tuple[str, Any]]], None] | None = None,
) -> None:
    """Runs a ``@hydra.main`` function; a user's mistake ends as one line and exit code 2.
    ``check_swept`` checks a sweep's values by the rules that need the job's stack (a kind's
    names), before its first job."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's exceptions reach us, not its printer
    if any(arg in ("--help", "-h") for arg in sys.argv[1:]):
        print(help_text(conf_dir))
        raise SystemExit(0)
    _FAILED_AFTER_RESULTS.clear()  # a call's own (the tests run several in one process)
    try:
        schema(conf_dir)  # a conf/ folder without its files is refused before Hydra reads it
        sys.argv[1:] = canonical(sys.argv[1:])
        check_argument_form(sys.argv[1:])
        check_config_name(sys.argv[1:], conf_dir)
        check_not_shadowed(sys.argv[1:], conf_dir)
        check_starts_from_package(sys.argv[1:], conf_dir)
        check_hydra_folders(sys.argv[1:], conf_dir)
        swept = with_file_sweep(sys.argv[1:], conf_dir)  # the -cn file's sweep, too
        check_group_choices(swept, conf_dir)
        check_launcher_counts(sys.argv[1:])
        check_local_tasks(sys.argv[1:], conf_dir)
        check_hydra_added(sys.argv[1:], conf_dir)
        check_basic_sweep(swept, conf_dir)
        check_given_once(sys.argv[1:])
        check_override_keys(swept, conf_dir)
        check_values(swept, conf_dir)
        check_sweep_settings(sys.argv[1:], conf_dir)
        if check_swept is not None and multirun(sys.argv[1:], conf_dir):
            check_swept(set_values(swept, conf_dir, swept=True))
        sys.argv[1:] = swept_choice_settings(sys.argv[1:], conf_dir)  # for Hydra's compose
        hydra_main()
        if _FAILED_AFTER_RESULTS:
            raise SystemExit(EXIT_USER_ERROR)
    except UserError as err:
        refuse(err)
    except WorkerLost as lost:  # not the user's: the same command resumes the sweep
        print(f"error: {lost}", file=sys.stderr)
        raise SystemExit(lost.exit_code) from None
    except yaml.YAMLError as err:  # an experiment's or conf/'s file, as Hydra loads it
        refuse(unreadable_yaml(err))
    except HydraException as err:
        broken = broken_code(err)
        if broken is not None:
            raise broken from None
        print(f"error: {hydra_line(err, conf_dir)}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None
    except InterpolationResolutionError as err:
        if "--cfg" not in sys.argv and "-c" not in sys.argv:
            raise  # a job's own: a programming error, not the user's
        refuse(unresolved(err))  # Hydra's own printing of the config (--cfg job --resolve)
    except ValueError as err:  # Hydra's job log cannot be opened (read-only, a full disk)
        cause = err.__cause__
        if not (
            str(err).startswith("Unable to configure handler")
            and isinstance(cause, OSError)
            and cause.filename
        ):
            raise
        refuse(
            UserError(
                f"the output folder={str(Path(cause.filename).parent)!r} cannot be written "
                f"({cause.strerror}: {cause.filename}); accepted: a writable folder"
            )
        )
    except OSError as err:
        if err.filename is None:
            raise
        print(
            f"error: cannot write {err.filename} ({err.strerror}); accepted: a writable "
            "folder with free space",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USER_ERROR) from None
