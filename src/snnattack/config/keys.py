"""Known keys: a key that no part of the project reads is refused, with the nearest known key.

The known keys are not listed by hand: they are the keys of ``conf/`` itself, the primary
config (``config.yaml``) and every option of every config group, each under its package (a
group's folder, or its ``# @package`` line). An option packaged as ``<group>.<option>`` (the
multi-select groups ``method`` and ``analysis``) stands for any option: ``method.*.steps``.
A node that is an empty dict wherever it appears and has no known key below it (``paper: {}``)
is free-form. ``hydra`` is Hydra's own and left to it.

``experiments/`` (the paper sweeps) is not part of this schema: its files only set known keys,
and a typo there is refused like one on the command line.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snnattack.errors import ConfigError
from snnattack.package import CONF_DIR
from snnattack.settings import dotted_value, walk
from snnattack.values import as_typed, matches

# other names of a key, accepted on the command line (lightning-hydra-template's ckpt_path)
ALIASES = {"ckpt_path": "checkpoint"}
# keys of earlier versions, and what a user writes now
RENAMED = {"neuron_kernel": "backend (neuron_kernel=auto is backend=c, torch is torch)"}
HYDRA = "hydra"  # Hydra's own node: its keys are Hydra's to check
# nodes whose children are names of a kind, any of which a user may add, checked by the kind
# with the names it accepts, to a depth below the node (None: any): a new gradient mode's grid
# (+attack.tune.grids.<mode>={...}), a method's parameter (+method.pgd.decay=1, never a key
# below it: attacks/checks.py)
OPEN = {"attack.tune.grids": None, "method": 2}
# nodes with keys below them in conf/ that may also be a list: a tuning grid's axis is a range
# {start, stop, step} or a list of values
LIST_OR_DICT = ("attack.tune.grids.*.*",)
LISTING = "accepted: the keys that python run.py --cfg job lists"  # on the command line
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)", re.MULTILINE)


def _package(path: Path, conf_dir: Path) -> str:
    """The dotted node a group option's keys go under ("" for ``_global_``)."""
    if path.parent == conf_dir:
        return ""
    group = path.parent.relative_to(conf_dir).as_posix().replace("/", ".")
    header = _PACKAGE.search(path.read_text())
    package = header.group(1) if header else "_group_"
    package = package.replace("_group_", group).replace("_name_", path.stem)
    if package == f"{group}.{path.stem}":  # one node per selected option: any option
        return f"{group}.*"
    return "" if package == "_global_" else package.removeprefix("_global_.")


def loaded(path: Path) -> Any:
    """The config file ``path`` as OmegaConf reads it; unreadable YAML: :func:`unreadable_yaml`."""
    try:
        return OmegaConf.load(path)
    except yaml.YAMLError as err:
        raise unreadable_yaml(err, path) from None


@cache
def shipped() -> dict[str, Any]:
    """The keys of ``conf/config.yaml`` at the values it sets: what a job gets unless set, and
    so not the user's setting where a note tells of one."""
    return OmegaConf.to_container(loaded(CONF_DIR / "config.yaml"))


@cache
def default_attack() -> dict[str, Any]:
    """The gradient mode and params of ``conf/config.yaml``'s ``attack`` choice: what a job
    crafts with unless ``attack=`` is set."""
    choice = one_choice_groups(CONF_DIR)["attack"]
    return OmegaConf.to_container(loaded(CONF_DIR / "attack" / f"{choice}.yaml"))


def mode_given(attack: dict[str, Any]) -> list[str]:
    """The user's gradient-mode settings in a resolved ``attack`` block, as a note names them:
    ``attack=<mode>`` where the mode is not the default's (:func:`default_attack`), else the
    ``attack.params.<k>=<v>`` that differ from the default mode's file; none at the default.
    What the notes of a mode no row reads tell of (a sweep over it repeats those rows)."""
    default = default_attack()
    if attack["grad_mode"] != default["grad_mode"]:
        return [f"attack={attack['grad_mode']}"]
    own = default.get("params") or {}
    return [
        f"attack.params.{k}={v}" for k, v in (attack.get("params") or {}).items() if own.get(k) != v
    ]


@cache
def _files(conf_dir: Path = CONF_DIR) -> tuple[tuple[Path, str, dict[str, Any]], ...]:
    """Each config file of ``conf_dir`` (sorted) with the prefix of its keys (its package,
    :func:`_package`, and a dot; "" for the top) and its tree as written, without its
    defaults list (choices, not keys): what every reader of the keys below walks. Read once;
    the trees are not to be changed."""
    found = []
    for path in sorted(conf_dir.rglob("*.yaml")):
        tree = OmegaConf.to_container(loaded(path), resolve=False)
        if isinstance(tree, dict):
            tree.pop("defaults", None)
            package = _package(path, conf_dir)
            found.append((path, f"{package}." if package else "", tree))
    return tuple(found)


@cache
def schema(conf_dir: Path = CONF_DIR) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(known key patterns, free-form nodes, config group names) of ``conf_dir``."""
    if not (conf_dir / "config.yaml").is_file():  # a checkout made without symbolic links
        raise ConfigError(
            f"{conf_dir} holds no config.yaml; accepted: the package's conf/ folder (a wheel "
            "carries it; in a checkout src/snnattack/conf is a link to conf/: clone with "
            "git config core.symlinks true)"
        )
    empty: dict[str, bool] = {}
    groups = set()
    for path, prefix, tree in _files(conf_dir):
        if path.parent != conf_dir:
            groups.add(path.parent.relative_to(conf_dir).as_posix())
        levels = prefix.split(".")[:-1]
        nodes = {".".join(levels[: i + 1]): False for i in range(len(levels))}
        nodes.update((key, value == {}) for key, value in walk(tree, prefix))  # empty dicts
        for key, is_empty in nodes.items():
            empty[key] = empty.get(key, True) and is_empty
    keys = frozenset(empty)
    free = frozenset(
        k for k, e in empty.items() if e and not any(o.startswith(k + ".") for o in keys)
    )
    return keys, free | {HYDRA}, frozenset(groups)


@cache
def nullable(conf_dir: Path = CONF_DIR) -> frozenset[str]:
    """The dotted nodes that some file of ``conf_dir`` sets to null (``logger.wandb: null``)."""
    found = set()
    for _, prefix, tree in _files(conf_dir):
        found.update(k for k, v in walk(tree, prefix) if v is None)
    return frozenset(found)


@cache
def is_known(key: str, conf_dir: Path = CONF_DIR) -> bool:
    """Whether the dotted ``key`` is a key of the schema, or below a free-form or an open
    node (:data:`OPEN`)."""
    keys, free, _ = schema(conf_dir)
    parts = key.split(".")
    if any(".".join(parts[:i]) in free for i in range(1, len(parts))):
        return True
    for node, depth in OPEN.items():
        top = node.split(".")
        if parts[: len(top)] == top and len(top) < len(parts) <= len(top) + (depth or len(parts)):
            return True
    return any(matches(key, pattern) for pattern in keys)


def nearest(key: str, conf_dir: Path = CONF_DIR) -> str | None:
    """The known key (or group, or alias) most like ``key``: a sibling with a similar name,
    else any key with a similar last part (the shallowest of those ending alike: ``eps``, not
    ``train.adversary.eps``), else (below an unknown node) the most similar dotted key."""
    keys, _, groups = schema(conf_dir)
    parts = key.split(".")
    concrete = {_instance(p, parts, conf_dir) for p in keys} | groups | set(ALIASES)
    concrete.discard(None)
    parent, leaf = ".".join(parts[:-1]), parts[-1]
    siblings = {k.rpartition(".")[2]: k for k in concrete if k.rpartition(".")[0] == parent}
    leaves: dict[str, str] = {}
    for k in sorted(concrete, key=lambda k: (k.count("."), k)):  # the shallowest kept
        leaves.setdefault(k.rpartition(".")[2], k)
    for names, cutoff in ((siblings, 0.6), (leaves, 0.8)):
        found = difflib.get_close_matches(leaf, list(names), n=1, cutoff=cutoff)
        if found:
            return names[found[0]]
    if parent in concrete or not parent:
        return None
    found = difflib.get_close_matches(key, sorted(concrete), n=1, cutoff=0.6)
    return found[0] if found else None


def _instance(pattern: str, parts: list[str], conf_dir: Path) -> str | None:
    """``pattern`` with its ``*`` levels taken from the key ``parts`` (``method.*.steps`` for
    ``method.pgd.stepz`` is ``method.pgd.steps``); None where the levels before differ, or
    where the option taken for ``*`` is not one whose file sets the key (:func:`_suppliers`):
    a suggestion is a key that exists."""
    wanted = pattern.split(".")
    if "*" not in wanted:
        return pattern
    star = wanted.index("*")
    if len(parts) <= star or parts[:star] != wanted[:star]:
        return None
    options = _suppliers(conf_dir).get(pattern)
    if options is not None and parts[star] not in options:
        return None
    return ".".join(parts[i] if w == "*" else w for i, w in enumerate(wanted))


@cache
def _suppliers(conf_dir: Path = CONF_DIR) -> dict[str, frozenset[str]]:
    """Each key pattern of a multi-select group (``method.*.n_queries``) with the options
    whose file sets it (``square``, ...): the schema's ``*`` stands for any option, but each
    option has only its own file's keys."""
    found: dict[str, set[str]] = {}
    for path, prefix, tree in _files(conf_dir):
        if not prefix.endswith(".*."):
            continue
        found.setdefault(prefix[:-1], set()).add(path.stem)
        for key, _ in walk(tree, prefix):
            found.setdefault(key, set()).add(path.stem)
    return {key: frozenset(options) for key, options in found.items()}


@cache
def list_nodes(conf_dir: Path = CONF_DIR) -> frozenset[str]:
    """The key patterns whose value some file of ``conf_dir`` sets to a list
    (``method.*.components``, ``eps``), its defaults list aside."""
    found = set()
    for _, prefix, tree in _files(conf_dir):
        found.update(k for k, v in walk(tree, prefix) if isinstance(v, list))
    return frozenset(found)


def list_above(key: str, conf_dir: Path = CONF_DIR) -> str | None:
    """The list of ``conf_dir`` that the dotted ``key`` lies below
    (``method.ensemble.components`` for ``method.ensemble.components.7.params.n_queries``), as
    the key spells it; None where it lies below none. A list's elements are no keys of the
    schema (Hydra would set one in range, ``eps.0=4``, but add none, ``...components.7``): a
    list is overridden whole, as a file of ``conf/`` sets it."""
    parts = key.split(".")
    for end in range(len(parts) - 1, 0, -1):
        above = ".".join(parts[:end])
        for pattern in list_nodes(conf_dir):
            if _instance(pattern, parts[:end], conf_dir) == above:
                return above
    return None


def unknown_key_error(
    key: str, value: Any = None, conf_dir: Path = CONF_DIR, listing: str = LISTING
) -> ConfigError:
    """The one-line refusal of ``key``: for an element of a list of ``conf/`` that the list is
    given whole (:func:`list_above`), else the nearest known key, for a value naming a file of
    ``experiments/`` how to run that sweep, and ``listing``, what lists the known keys in the
    caller's words (the Python API's is not the command line's)."""
    whole = list_above(key, conf_dir)
    if whole is not None:  # its nearest key is the list itself, which the line did not explain
        return ConfigError(
            f"unknown key {key!r}: it is an element of the list {whole}, and a list is "
            f"overridden whole; accepted: {whole}=[...], the whole list"
        )
    near = nearest(key, conf_dir)
    line = f"unknown key {key!r}"
    if key in RENAMED:
        line += f"; it is now {RENAMED[key]}:"
    elif near is not None:
        line += f"; did you mean {ALIASES.get(near, near)!r}?"
    line += experiment_hint(value, conf_dir)
    return ConfigError(f"{line}{' ' if line.endswith(('?', ':')) else '; '}{listing}")


def experiment_hint(name: Any, conf_dir: Path = CONF_DIR) -> str:
    """How to run ``name`` if it is a sweep file of ``experiments/`` ("" if it is not, or if it
    cannot name a file: a word longer than a file name may be)."""
    try:
        found = (
            isinstance(name, str) and (conf_dir.parent / "experiments" / f"{name}.yaml").is_file()
        )
    except OSError:
        found = False
    if found:
        return f" ({name} is a sweep of experiments/: python run.py -m -cd experiments -cn {name})"
    return ""


@cache
def children(key: str, conf_dir: Path = CONF_DIR) -> tuple[str, ...]:
    """The names of the known keys directly below the dotted ``key`` (none for a leaf)."""
    keys, _, _ = schema(conf_dir)
    depth = key.count(".") + 1
    below = (p.split(".") for p in keys if p.count(".") == depth)
    return tuple(sorted({parts[-1] for parts in below if matches(key, ".".join(parts[:-1]))}))


def _not_a_dict(key: str, value: Any, tree: dict[str, Any], conf_dir: Path) -> ConfigError | None:
    """The refusal of a value that replaced a dict of ``conf/`` (Hydra lets ``attack.tune=5``
    replace one); None where ``value`` is a dict, an interpolation, or a list or null where
    ``conf/`` allows one."""
    if isinstance(value, dict) or key.split(".")[0] == HYDRA:
        return None
    if value is None and any(matches(key, p) for p in nullable(conf_dir)):
        return None
    if isinstance(value, str) and value.startswith("${"):  # resolved later, then checked
        return None
    if isinstance(value, list) and any(matches(key, p) for p in LIST_OR_DICT):
        return None
    group, _, option = key.partition(".")
    keys, _, _ = schema(conf_dir)
    file = conf_dir / group / f"{option}.yaml"
    if f"{group}.*" in keys and "." not in option:  # an option of a multi-select group
        if file.is_file():  # method.pgd=5: pgd's own keys, not every method's
            return ConfigError(
                f"{key}={as_typed(value)} is not a dict; accepted: a dict of the keys of "
                f"{group}/{option}.yaml ({', '.join(file_keys(file))})"
            )
        return ConfigError(  # method.steps=3, or method.name=pgd: no option's node
            f"{key}={as_typed(value)} is not a dict: below {group} stands each chosen option's "
            f"node ({group}.<its name>.<key>), and {option} is none; accepted: {group}.<its "
            f"name>.{option}=..., and in a {group} file of yours the first line '# @package "
            f"{group}.<its name>', which puts its keys there"
        )
    below = children(key, conf_dir)
    if not below:
        return None
    chosen = _chosen(key, tree, conf_dir)
    whose = "its keys"
    if chosen is not None:  # the keys of the chosen attack= (dataset=, ...), not of them all
        choice, below = chosen
        if not below:
            return ConfigError(
                f"{key}={as_typed(value)} is not a dict; accepted: {{}} ({choice} has none)"
            )
        whose = f"the keys of {choice}"
    return ConfigError(
        f"{key}={as_typed(value)} is not a dict; accepted: a dict of {whose} "
        f"({', '.join(below)}), e.g. {key}.{below[0]}=..."
    )


def file_keys(path: Path) -> list[str]:
    """The keys a config file sets at its top, in its order, its defaults list aside (none
    where it cannot be read)."""
    try:
        tree = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [k for k in tree if k != "defaults"] if isinstance(tree, dict) else []


def _chosen(key: str, tree: dict[str, Any], conf_dir: Path) -> tuple[str, list[str]] | None:
    """``group=choice`` of the group of one choice that ``key`` lies in, as ``tree`` holds it,
    and the keys its config sets below ``key``; None where ``key`` is of no such group or
    the choice is not known. The choice is the one whose config gives the value ``tree``
    holds for a key that each choice sets to a name of its own (``attack.grad_mode``,
    ``dataset.name``)."""
    group, _, below = key.partition(".")
    node = tree.get(group)
    if group not in one_choice_groups(conf_dir) or not below or not isinstance(node, dict):
        return None
    trees = {p.stem: _choice_tree(p, conf_dir, group) for p in choice_files(conf_dir, group)}
    for name in sorted(_choice_keys(conf_dir, group)):
        values = [t.get(name) if isinstance(t, dict) else None for t in trees.values()]
        if not all(isinstance(v, str) for v in values) or len(set(values)) < len(values):
            continue  # not a name of its own in every choice
        for stem, choice in trees.items():
            if choice[name] != node.get(name):
                continue
            choice = _below(choice, below)
            if choice is _NONE:  # a key of the root config's own (attack.tune)
                return None
            return f"{group}={stem}", sorted(choice) if isinstance(choice, dict) else []
    return None


def check_keys(tree: dict[str, Any], conf_dir: Path = CONF_DIR, listing: str = LISTING) -> None:
    """Refuses the first key of a composed config that the schema does not know (``listing``:
    what lists the known keys, in the caller's words), or whose value replaced a dict of the
    schema, or a key or a group of the root config that an override removed (``~T``,
    ``~attack``)."""
    for key, value in walk(tree, ""):
        if not is_known(key, conf_dir):
            raise unknown_key_error(key, value, conf_dir, listing)
        problem = _not_a_dict(key, value, tree, conf_dir)
        if problem is not None:
            raise problem
    groups = one_choice_groups(conf_dir)
    if not any(isinstance(tree.get(group), dict) for group in groups):
        raise bare_config_error(conf_dir)
    for group, default in groups.items():
        held = tree.get(group) if isinstance(tree.get(group), dict) else {}
        every = _choice_keys(conf_dir, group)
        lost = sorted(every - {key for key, _ in walk(held, "")})
        if lost and len(lost) < len(every):
            raise ConfigError(
                f"{group}.{lost[0]} is missing (an override removed it: ~{group}.{lost[0]}); "
                f"accepted: {group}.{lost[0]} with a value, which every {group}= choice sets"
            )
        if lost:
            choices = ", ".join(p.stem for p in choice_files(conf_dir, group))
            raise ConfigError(
                f"{group} is missing (an override removed its group: ~{group}); accepted: "
                f"{group}=<one of {choices}> (its default: {default}), which every job reads"
            )
    for key, default in _root(conf_dir).items():
        parent, _, last = key.rpartition(".")
        node = dotted_value(tree, parent) if parent else tree
        if isinstance(node, dict) and last not in node:
            shown = "{...}" if isinstance(default, dict) else default
            raise ConfigError(
                f"{key} is missing (an override removed it: ~{key}); accepted: {key} with a "
                f"value (its default: {shown}), which every job reads"
            )


def bare_config_error(conf_dir: Path) -> ConfigError:
    """The line for a config of the user's that does not start from the package's: it holds
    none of its groups (and none of its ``hydra.callbacks``)."""
    groups = ", ".join(g for g in one_choice_groups(conf_dir) if g.isidentifier())  # no hydra/...
    return ConfigError(
        f"the config holds none of the package's groups ({groups})"
        ": a config of your own that does not start from the package's; accepted: defaults: "
        "[config, _self_] at its top (docs/experiments.md, Your own experiment)"
    )


@cache
def _defaults(conf_dir: Path) -> dict[str, Any]:
    """The config groups of the root config's defaults list with their default choice (a
    name, a list of names or null; an optional group's key as written: ``optional x``)."""
    defaults = OmegaConf.to_container(loaded(conf_dir / "config.yaml"))["defaults"]
    return {
        group: choice
        for entry in defaults
        if isinstance(entry, dict)
        for group, choice in entry.items()
    }


def one_choice_groups(conf_dir: Path) -> dict[str, str]:
    """The config groups of the root config's defaults list that hold one choice, with their
    default (``attack: stbp``); a group of several choices (``method``, ``analysis``) and an
    optional one are left out: Hydra refuses removing the first, the second may be absent."""
    return {
        group: choice
        for group, choice in _defaults(conf_dir).items()
        if isinstance(choice, str) and not group.startswith("optional ")
    }


def list_groups(conf_dir: Path) -> dict[str, list[str]]:
    """The config groups of the root config's defaults list that hold a list of choices, with
    their default (``method: [fgsm, pgd]``, ``analysis: []``): Hydra cannot remove one."""
    return {g: choices for g, choices in _defaults(conf_dir).items() if isinstance(choices, list)}


@cache
def _choice_keys(conf_dir: Path, group: str) -> frozenset[str]:
    """The dotted keys (below the group's node) that every choice of ``group`` sets, with the
    group's files that its defaults list includes (``train``'s ``_adversary``, ``trainer``'s
    ``default`` under ``cpu``), merged under it: a tree without one has lost it
    (``~train.adversary.grad_mode``, ``~trainer.max_epochs``), or its choice (``~attack``
    leaves the root config's own ``attack.*``)."""
    keys = []
    for path in choice_files(conf_dir, group):
        trees = [_choice_tree(p, conf_dir, group) for p in _included(path, conf_dir, group)]
        trees = [t for t in trees if isinstance(t, dict)]
        if trees:
            merged = OmegaConf.to_container(OmegaConf.merge(*trees), resolve=False)
            keys.append({key for key, _ in walk(merged, "")})
    return frozenset(set.intersection(*keys)) if keys else frozenset()


def _included(path: Path, conf_dir: Path, group: str) -> list[Path]:
    """The files of ``group`` that the config ``path`` of it includes through its defaults list
    (theirs first, in turn), then ``path``: in the order Hydra merges them."""
    listed = (OmegaConf.to_container(loaded(path)) or {}).get("defaults") or []
    files = [conf_dir / group / f"{entry}.yaml" for entry in listed if isinstance(entry, str)]
    inherited = [f for file in files if file.is_file() for f in _included(file, conf_dir, group)]
    return [*inherited, path]


def choices_with(key: str, conf_dir: Path = CONF_DIR) -> tuple[str, list[str]] | None:
    """The group of one choice that a dotted ``key`` lies in (``dataset.params.root``:
    ``dataset``) and its choices whose config sets it (``cifar10``, ...); None where ``key``
    is of no such group."""
    group, _, below = key.partition(".")
    if group not in one_choice_groups(conf_dir) or not below:
        return None
    trees = {p.stem: _choice_tree(p, conf_dir, group) for p in choice_files(conf_dir, group)}
    return group, [stem for stem, tree in trees.items() if _below(tree, below) is not _NONE]


def global_choices_with(key: str, conf_dir: Path = CONF_DIR) -> dict[str, list[str]]:
    """The choices of ``@package _global_`` files that set a dotted ``key`` outside every
    group's node (``pgd_alpha``: the ``experiment=`` presets), by group: where none of them is
    chosen the config has no such key, and Hydra refuses a plain ``key=value``. Empty where
    the root config sets ``key`` or only groups' own nodes do (:func:`choices_with`)."""
    if key.split(".")[0] in one_choice_groups(conf_dir) or key in _root(conf_dir):
        return {}
    found: dict[str, list[str]] = {}
    for path, prefix, tree in _files(conf_dir):
        if path.parent == conf_dir or path.stem.startswith("_") or prefix != "":
            continue
        if any(k == key for k, _ in walk(tree, "")):
            group = path.parent.relative_to(conf_dir).as_posix()
            found.setdefault(group, []).append(path.stem)
    return found


def readers(key: str, conf_dir: Path = CONF_DIR) -> list[str]:
    """The keys of ``conf_dir`` whose value reads the top-level ``key`` (``${key}``,
    ``${oc.select:key,...}``), as a user sets them (``method.pgd.alpha`` for ``pgd_alpha``):
    where the config lacks ``key``, setting a reader is the way to set what it stood for."""
    reads = re.compile(rf"\$\{{(oc\.select:)?{re.escape(key)}[,}}]")
    found = set()
    for path, prefix, tree in _files(conf_dir):
        prefix = prefix.replace("*", path.stem)
        found.update(k for k, v in walk(tree, prefix) if isinstance(v, str) and reads.search(v))
    return sorted(found)


_NONE = object()  # a key a config does not set (its value may be null)


def _below(tree: Any, dotted: str) -> Any:
    """The value at the ``dotted`` key of ``tree``; :data:`_NONE` where it sets none."""
    for part in dotted.split("."):
        tree = tree.get(part, _NONE) if isinstance(tree, dict) else _NONE
    return tree


def _choice_tree(path: Path, conf_dir: Path, group: str) -> Any:
    """What the choice ``path`` of ``group`` sets under the group's node, as plain values (a
    ``@package _global_`` file's ``<group>:`` block), without its defaults list."""
    for file, prefix, tree in _files(conf_dir):
        if file == path:
            return tree.get(group) if prefix == "" else tree if prefix == f"{group}." else None
    return None


def choice_files(conf_dir: Path, group: str) -> list[Path]:
    """The files of ``group``'s choices (not its internal ``_*`` ones)."""
    return sorted(p for p in (conf_dir / group).glob("*.yaml") if not p.stem.startswith("_"))


@cache
def _root(conf_dir: Path) -> dict[str, Any]:
    """Every dotted key of the root config's own tree (``config.yaml``, not its groups'), with
    its default."""
    tree = next(t for path, _, t in _files(conf_dir) if path == conf_dir / "config.yaml")
    return dict(walk({k: v for k, v in tree.items() if k != HYDRA}, ""))


def canonical(argv: list[str]) -> list[str]:
    """Command-line arguments with each alias replaced by its key (``ckpt_path=X`` and
    ``+ckpt_path=X`` become ``checkpoint=X``)."""
    out = []
    for arg in argv:
        key, eq, rest = arg.partition("=")
        name = key.lstrip("+")
        out.append(f"{ALIASES[name]}={rest}" if eq and name in ALIASES else arg)
    return out


# OmegaConf's words for an interpolation of a key the config does not hold
_MISSING_KEY = re.compile(r"Interpolation key '([^'.][^']*)' not found")


def unresolved(err: OmegaConfBaseException, config: DictConfig | None = None) -> ConfigError:
    """The one line for a config value that cannot be resolved (an interpolation of a key that
    does not exist, as a sweep file's ``${kinds.T.${train.kind}}`` at a kind it does not list),
    naming its key where the error knows it (Hydra's ``--cfg job --resolve`` does not). With
    the ``config``, a missing key under a table the config holds lists that table's keys
    (``kinds.step=whole``: ``kinds.T_steps.conversion`` holds full, half, quarter, eighth), so
    a mistyped value is named with the values it could have been."""
    key = getattr(err, "full_key", None)
    first = str(err).strip().splitlines()[0]
    sweep = "" if key else " (a sweep's file: one value of each key it sweeps)"
    table = _holding_table(first, config)
    accepted = (
        f"one of the keys of {table[0]}: {', '.join(table[1])}"
        if table
        else f"a value or an interpolation that resolves, e.g. ${{oc.env:NAME,default}}{sweep}"
    )
    return ConfigError(
        f"{key or 'a value of the config'} cannot be resolved ({first}); accepted: {accepted}"
    )


def _holding_table(message: str, config: DictConfig | None) -> tuple[str, list[str]] | None:
    """(the nearest table above the missing key of an interpolation error ``message``, its
    keys), where ``config`` holds one with keys; None for another error, a relative
    interpolation, an empty table or no config."""
    match = _MISSING_KEY.search(message)
    if match is None or config is None:
        return None
    parts = match.group(1).split(".")
    for end in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:end])
        try:
            node = OmegaConf.select(config, parent, throw_on_resolution_failure=False)
        except OmegaConfBaseException:
            node = None
        if OmegaConf.is_dict(node):  # the nearest table: its keys, if it has any
            return (parent, [str(k) for k in node]) if len(node) else None
    return None


def unreadable_yaml(err: yaml.YAMLError, path: Path | None = None) -> ConfigError:
    """The one line for a config file that YAML cannot read (a user's experiment, a drafted
    protocol, an edited ``conf/`` file), naming the file and the line where YAML stopped:
    it was YAML's traceback."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = str(path or getattr(mark, "name", None) or "a config file")
    if mark is not None:
        where += f", line {mark.line + 1}"
    problem = getattr(err, "problem", None) or str(err).strip().splitlines()[0]
    return ConfigError(
        f"{where} is not read as YAML ({problem}); accepted: a file of keys written as conf/'s "
        "files are (quotes around a value holding ': ' or '#', brackets closed)"
    )


def method_algorithm(file: Path, choice: str) -> str:
    """The algorithm that the ``conf/method`` file ``file`` of the choice ``choice`` runs:
    its ``name``, else the choice's."""
    return (yaml.safe_load(file.read_text()) or {}).get("name", choice)
