"""The command line as Hydra reads it, before Hydra runs: its overrides (Hydra's own parser),
its options (``-cn``, ``-cd``), the primary config file it names (and the sweep that file
holds) and the group choices the run takes, for the checks that refuse a mistake in one line
(:mod:`snnattack.runtime.cli`, :mod:`snnattack.runtime.launchers`)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from hydra._internal.utils import get_args_parser  # Hydra's own parser of run.py's argv
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, Override, RangeSweep


def choice_names(value: object) -> list[str]:
    """The config names an override's parsed ``value`` chooses of a group: a number, boolean,
    dict or range (``model=5``, ``method=true``, ``-m model=range(1,3)``) names one as a word
    does, none, so that it is refused as an unknown choice (it was Hydra's ``ValueError``
    traceback)."""
    if isinstance(value, ChoiceSweep):
        return [n for v in value.list for n in choice_names(v)]
    if isinstance(value, list):
        return [n for v in value for n in choice_names(v)]
    if isinstance(value, RangeSweep):
        return [str(v) for v in value.range()]
    if value is None:
        return ["null"]
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, (int, float, dict)):
        return [str(value)]
    return [value] if isinstance(value, str) else []  # a glob: checked by the sweeper


def hydra_option(argv: list[str], short: str, long: str) -> str | None:
    """The value of a Hydra option (``-cn NAME``, ``--config-name NAME`` or ``=NAME``)."""
    for i, arg in enumerate(argv):
        if arg in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        for flag in (short, long):
            if arg.startswith(f"{flag}="):
                return arg[len(flag) + 1 :]
    return None


def parsed_overrides(argv: list[str], bare_deletions: bool = False) -> list[Override]:
    """The overrides of ``argv`` as Hydra's own parser reads them (an option's value, such
    as ``-cd eq=1`` or ``-sc install=bash``, is none); with ``bare_deletions``, a deletion
    without a value (``~method``) among them. Parsed once per command line: its checks ask
    for them about twenty times, at 2 ms a parse."""
    return list(_overrides(tuple(argv), bare_deletions))


@functools.lru_cache(maxsize=64)
def _overrides(argv: tuple[str, ...], bare_deletions: bool) -> tuple[Override, ...]:
    """:func:`parsed_overrides` of ``argv``."""
    parser = get_args_parser()
    parser.error = lambda message: None  # type: ignore[method-assign]  # check_argument_form's
    words = parser.parse_known_args(list(argv))[0].overrides or []
    return tuple(
        OverridesParser.create().parse_overrides(
            [w for w in words if "=" in w or (bare_deletions and w.startswith("~"))]
        )
    )


def number_too_long(word: str) -> bool:
    """Whether the override ``word`` holds an integer longer than Python reads from text
    (``sys.get_int_max_str_digits()``, 4300 digits): Hydra's parser raised a ``ValueError``
    on it, a traceback, where a shorter one is refused by its key's rule."""
    try:
        OverridesParser.create().parse_overrides([word])
    except ValueError as err:
        return "Exceeds the limit" in str(err)
    except Exception:  # noqa: BLE001  # Hydra's own message, later
        return False
    return False


def config_file(argv: list[str], conf_dir: Path) -> Path | None:
    """The ``-cn`` file (``config`` if none) where Hydra finds it: in the ``-cd`` folder, else
    in ``conf_dir``; None if in neither."""
    name = hydra_option(argv, "-cn", "--config-name") or "config"
    file = name if name.endswith(".yaml") else f"{name}.yaml"
    cd = hydra_option(argv, "-cd", "--config-dir")
    found = [f / file for f in ([Path(cd)] if cd else []) + [conf_dir] if (f / file).is_file()]
    return found[0] if found else None


def multirun(argv: list[str], conf_dir: Path) -> bool:
    """Whether the run is a sweep: ``-m`` (``--multirun``), ``hydra.mode=MULTIRUN`` on the
    command line, or ``hydra: {mode: MULTIRUN}`` in the ``-cn`` file, which Hydra reads as
    ``-m``."""
    if any(a in ("-m", "--multirun") for a in argv):
        return True
    for override in parsed_overrides(argv):
        if override.key_or_group == "hydra.mode":
            return str(override.value()) == "MULTIRUN"
    return str(file_hydra(argv, conf_dir).get("mode")) == "MULTIRUN"


def file_hydra(argv: list[str], conf_dir: Path) -> dict[str, Any]:
    """The ``-cn`` file's ``hydra`` node as written (empty where it has none)."""
    hydra = primary_config(argv, conf_dir).get("hydra")
    return hydra if isinstance(hydra, dict) else {}


def file_sweep(argv: list[str], conf_dir: Path) -> dict[str, Any]:
    """The ``-cn`` file's sweep, ``hydra.sweeper.params`` (empty where it has none)."""
    sweeper = file_hydra(argv, conf_dir).get("sweeper")
    params = sweeper.get("params") if isinstance(sweeper, dict) else None
    return params if isinstance(params, dict) else {}


def with_file_sweep(argv: list[str], conf_dir: Path) -> list[str]:
    """``argv`` and, in a sweep (:func:`multirun`), each ``key=value`` of the ``-cn`` file's
    ``hydra.sweeper.params`` (and the command line's ``hydra.sweeper.params.key=value``) that
    the command line does not set (Hydra's sweeper reads them before the command line's,
    which win): the checks of a sweep's keys, choices and values read a file's sweep as the
    command line's."""
    params = dict(file_sweep(argv, conf_dir))
    overrides = parsed_overrides(argv, bare_deletions=True)
    prefix = "hydra.sweeper.params."  # the file's form, given on the command line
    for o in (o for o in overrides if o.key_or_group.startswith(prefix)):
        key = o.key_or_group.removeprefix(prefix)
        if o.is_delete():  # ~hydra.sweeper.params.lambda: the file's sweep of it removed
            params.pop(key, None)
        else:
            params[key] = (o.input_line or "").partition("=")[2]
    if not params or not multirun(argv, conf_dir):
        return argv
    given = {o.key_or_group for o in overrides if not o.is_delete()}
    return [*argv, *(f"{k}={v}" for k, v in params.items() if k not in given)]


def primary_config(argv: list[str], conf_dir: Path) -> dict[str, Any]:
    """The ``-cn`` file as written (:func:`config_file`); empty where it cannot be read
    (Hydra then says why). A copy of the tree parsed once per text: the checks of one command
    read the file a dozen times, and each parse took about 10 ms of its start."""
    path = config_file(argv, conf_dir)
    try:
        text = path.read_text() if path is not None else ""
    except OSError:
        return {}
    return copy.deepcopy(_parsed(text))


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> dict[str, Any]:
    """The YAML ``text`` as a tree; empty where it is not YAML or holds no mapping."""
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return tree if isinstance(tree, dict) else {}


def search_path(argv: list[str], conf_dir: Path) -> list[str]:
    """The ``hydra.searchpath`` entries of the command line, else of the ``-cn`` file."""
    for override in parsed_overrides(argv):
        if override.key_or_group == "hydra.searchpath" and isinstance(override.value(), list):
            return [str(v) for v in override.value()]
    entries = (primary_config(argv, conf_dir).get("hydra") or {}).get("searchpath") or []
    return [str(e) for e in entries] if isinstance(entries, list) else []


def user_config_dirs(argv: list[str], conf_dir: Path) -> list[Path] | None:
    """The user's config folders that Hydra searches after ``conf_dir``: the ``-cd`` folder and
    the ``file://`` folders of ``hydra.searchpath`` (on the command line or in the ``-cn``
    file); None where the search path holds what this cannot list (``pkg://``): the choices
    are then Hydra's and the job's validation's to judge."""
    cd = hydra_option(argv, "-cd", "--config-dir")
    folders = [Path(cd)] if cd is not None else []
    for entry in search_path(argv, conf_dir):
        if "://" in entry and not entry.startswith("file://"):
            return None
        folders.append(Path(entry.removeprefix("file://")))
    return [f for f in folders if f.is_dir() and f.resolve() != conf_dir.resolve()]


def chosen_groups(argv: list[str], conf_dir: Path) -> dict[str, set[str]]:
    """The choices a run takes of each config group it names: the command line's, else the
    ``-cn`` file's defaults', else the package's (``conf/config.yaml``); read once."""
    chosen: dict[str, set[str]] = {}
    for tree in (primary_config([], conf_dir), primary_config(argv, conf_dir)):
        for entry in tree.get("defaults") or []:
            for key, value in entry.items() if isinstance(entry, dict) else ():
                words = str(key).replace("override", "").replace("optional", "").split()
                if words:
                    values = value if isinstance(value, list) else [value]
                    chosen[words[-1].strip("/")] = set(values) - {None}
    for override in parsed_overrides(argv):
        chosen[override.key_or_group] = set(choice_names(override.value()))
    return chosen
