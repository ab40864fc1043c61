"""The benchmark's fixed protocols: ``experiments/benchmark/<protocol>_v<version>.yaml``.

A protocol file is a launchable experiment (``python run.py -cd experiments/benchmark -cn
digits_v1``) and the settings of :func:`snnattack.benchmark.evaluate`. Its ``benchmark``
block names it (``protocol``, ``version``); a change to a protocol is a new file of the next
version, never an edit, so every entry of one version was measured the same way. The latest
version of a protocol is the one the leaderboard ranks.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from snnattack.benchmark.entry import row_label
from snnattack.config.compose import hydra_value
from snnattack.config.keys import is_known, loaded, unknown_key_error
from snnattack.errors import ConfigError, UserError
from snnattack.values import near

PROTOCOL_DIR = Path(__file__).parent / "protocols"  # experiments/benchmark/, package data
FILE = re.compile(r"(?P<name>[a-z0-9_]+?)_v(?P<version>[0-9]+)\.yaml")
SKIPPED = ("defaults", "hydra", "paper")  # keys of a protocol file that are not job settings
_ABSENT = object()  # what OmegaConf.select gives for a key the file does not write


@dataclass(frozen=True)
class Measures:
    """What a protocol file measures, where it says: its rows' labels, radii (1/255) and test
    images (None: the file does not hold it)."""

    rows: tuple[str, ...] | None
    eps: list[float] | None
    n: int | None


@dataclass(frozen=True)
class Protocol:
    """One version of a protocol, read from its file."""

    name: str
    version: int
    path: Path

    @property
    def label(self) -> str:
        """``<name>_v<version>``, the file's stem."""
        return f"{self.name}_v{self.version}"

    @cached_property
    def raw(self) -> DictConfig:
        """The file as written (its defaults list unresolved); one YAML cannot read, or that
        holds no keys, is one UserError line naming it."""
        raw = loaded(self.path)
        if not isinstance(raw, DictConfig):
            raise UserError(
                f"{self.path} holds no keys; accepted: a protocol file written as "
                "experiments/benchmark/digits_v1.yaml is"
            )
        return raw

    def _read(self, key: str) -> Any:
        """The file's ``key`` as its reader of :data:`READERS` takes it (TypeError or
        ValueError: not); one missing or not taken is one UserError line naming the file and
        the key, before any work (a key written null is a value not taken, never a mistyped
        or missing key). What a key's value means is the job config's to check."""
        read, accepted = READERS[key]
        value = OmegaConf.select(self.raw, key)
        value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        if value is None and not self.holds(key):
            typo = self._mistyped(key)
            if typo is not None:  # ``sede: 0``: the key it meant, not "seed is missing"
                raise UserError(
                    f"{self.path}: unknown key {typo!r}; did you mean {key!r}? accepted: {accepted}"
                )
            raise UserError(f"{self.path}: {key} is missing; accepted: {accepted}")
        try:
            return read(value)
        except (TypeError, ValueError):
            shown = "null" if value is None else repr(value)  # as the file writes it
            raise UserError(
                f"{self.path}: {key}={shown} is invalid; accepted: {accepted}"
            ) from None

    def _mistyped(self, key: str) -> str | None:
        """The dotted key of the file beside the missing ``key`` that is most like it and
        that no part of the project reads (``sede`` for ``seed``; in the free-form
        ``benchmark`` block any key), or None: the typo is named, not the key missing."""
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(self.raw, parent) if parent else self.raw
        if not isinstance(node, DictConfig):
            return None
        prefix = f"{parent}." if parent else ""
        free = key.startswith("benchmark.")
        names = [str(k) for k in node if free or not is_known(f"{prefix}{k}")]
        found = difflib.get_close_matches(leaf, names, n=1, cutoff=0.6)
        return f"{prefix}{found[0]}" if found else None

    @property
    def methods(self) -> list[str]:
        """The ``method=`` names of its rows (its defaults list's ``override /method``)."""
        methods = self._groups().get("method", [])
        return [methods] if isinstance(methods, str) else list(methods)

    @property
    def eps(self) -> list[float]:
        """Its L∞ radii in 1/255 units."""
        return self._read("eps")

    @property
    def boxes(self) -> list[str]:
        return self._read("boxes")

    @property
    def seed(self) -> int:
        return self._read("seed")

    @property
    def n(self) -> int:
        """Test images attacked: the first ``limit_test_batches`` batches of the fixed split."""
        return self._read("trainer.limit_test_batches") * self._read("eval_batch_size")

    @cached_property
    def measures(self) -> Measures:
        """What the file measures, read once per :class:`Protocol` (an entry's rows are
        ``row_label`` of each method in each box)."""
        methods = self.methods
        counted = OmegaConf.select(self.raw, "trainer.limit_test_batches") is not None
        return Measures(
            tuple(row_label(m, box) for box in self.boxes for m in methods) if methods else None,
            sorted(map(float, self.eps)) if "eps" in self.raw else None,
            self.n if counted else None,
        )

    @property
    def stochastic_eot(self) -> int:
        """EoT draws per gradient for a model whose forward is random."""
        return self._read("benchmark.stochastic_eot")

    def _groups(self) -> dict[str, Any]:
        """The config groups its defaults list overrides (``override /method: [...]``)."""
        groups = {}
        for item in self.raw.get("defaults", []):
            if isinstance(item, DictConfig):
                for key, value in item.items():
                    plain = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
                    groups[key.removeprefix("override ").strip("/")] = plain
        return groups

    def check_file(self) -> None:
        """Refuses, in one line naming the file, a key of :data:`READERS` it holds that its
        reader cannot take (null too: ``trainer.limit_test_batches: null`` ran the whole test
        split) or that it mistyped (``sede: 0``; ``benchmark.stochastic_eto: 8``, free-form to a
        job), and a key no part of the project reads (:meth:`overrides`). A key the file lacks
        is the job config's default, as in any job."""
        for key in READERS:
            if self.holds(key) or self._mistyped(key) is not None:
                self._read(key)
        self.overrides()

    def holds(self, key: str) -> bool:
        """Whether the file writes the dotted ``key``, null or not."""
        return OmegaConf.select(self.raw, key, default=_ABSENT) is not _ABSENT

    def overrides(self) -> list[str]:
        """The file's settings as overrides of a job's config (``conf/``): its group choices
        but ``method`` (:attr:`methods`), then ``++key=value`` for every key of its body down to
        a leaf or a list, in the file's order (``++``: the keys below the free-form
        ``benchmark`` node are new to the config)."""
        groups = [f"{g}={v}" for g, v in self._groups().items() if g != "method"]
        body = {k: v for k, v in OmegaConf.to_container(self.raw).items() if k not in SKIPPED}
        found = leaves(body, "")
        for key, value in found:  # a mistyped key of a drafted file, named with the file
            if not key.startswith("benchmark.") and not is_known(key):
                raise ConfigError(f"{self.path}: {unknown_key_error(key, value)}")
        return groups + [f"++{k}={hydra_value(v)}" for k, v in found]


def _count(value: Any) -> int:
    """``value`` if a whole number (not a bool, not text)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _positive(value: Any) -> int:
    """``value`` if a whole number of at least 1 (ValueError: 0 or fewer draws per gradient,
    which the evaluation core's ``attack.random_eot_samples`` refuses naming neither the file
    nor this key, and a job on the file ran with; 0 or fewer test batches or images, which the
    job config refuses naming the key, not the file it came from)."""
    if _count(value) < 1:
        raise ValueError(value)
    return value


def _number(value: Any) -> float:
    """``value`` if a number (not a bool, not text)."""
    return value if isinstance(value, float) else _count(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _listed(read: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    """Reads one value, or a list of them, as a list."""
    return lambda value: [read(v) for v in (value if isinstance(value, list) else [value])]


# the keys a protocol's reader needs from its file: how each is read, and what is accepted
READERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "eps": (_listed(_number), "L∞ radii in 1/255, e.g. eps: [8, 16]"),
    "boxes": (_listed(_text), "white, black or both, e.g. boxes: [white]"),
    "seed": (_count, "a whole number, e.g. seed: 0"),
    "trainer.limit_test_batches": (_positive, "a whole number of batches >= 1"),
    "eval_batch_size": (_positive, "a whole number of images >= 1"),
    "benchmark.stochastic_eot": (_positive, "a whole number of draws >= 1, e.g. 8"),
}


def leaves(tree: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf or list of ``tree``."""
    found = []
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            found += leaves(value, f"{prefix}{key}.")
        else:
            found.append((f"{prefix}{key}", value))
    return found


def available(folder: Path = PROTOCOL_DIR) -> dict[str, list[int]]:
    """Every protocol in ``folder`` with its versions, oldest first."""
    found: dict[str, list[int]] = {}
    for path in sorted(folder.glob("*.yaml")):
        if match := FILE.fullmatch(path.name):
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: sorted(versions) for name, versions in sorted(found.items())}


def protocol(
    name: str,
    version: int | None = None,
    *,
    folder: Path = PROTOCOL_DIR,
    argument: str = "protocol",
) -> Protocol:
    """The protocol ``name`` (``digits``, or ``digits_v1`` for one version) at ``version``
    (None: its latest). An unknown name or version is one UserError line naming both."""
    protocols = available(folder)
    accepted = (
        ", ".join(f"{p} (versions {', '.join(map(str, v))})" for p, v in protocols.items())
        or f"none, {folder} holds no protocol file (named <name>_v<k>.yaml)"
    )
    if not isinstance(name, str):
        raise UserError(f"{argument}={name!r} is not a protocol name; accepted: {accepted}")
    if (match := FILE.fullmatch(f"{name}.yaml")) and match["name"] in protocols:
        pinned = int(match["version"])
        if version is not None and version != pinned:
            raise UserError(
                f"{argument}={name!r} is version {pinned} but version={version}; accepted: "
                "one of them"
            )
        name, version = match["name"], pinned
    if name not in protocols:
        raise UserError(
            f"{argument}={name!r} is unknown{near(name, protocols)}; accepted: {accepted}"
        )
    if version is None:
        version = protocols[name][-1]
    if version not in protocols[name]:
        raise UserError(
            f"{argument}={name!r} has no version {version!r}; accepted: "
            f"{', '.join(map(str, protocols[name]))} "
            f"({'experiments/benchmark/' if folder == PROTOCOL_DIR else folder})"
        )
    found = Protocol(name, version, folder / f"{name}_v{version}.yaml")
    block = found.raw.get("benchmark") or {}
    if block.get("protocol") != name or block.get("version") != version:
        raise UserError(
            f"{found.path}: benchmark.protocol={block.get('protocol')!r} and "
            f"benchmark.version={block.get('version')!r} differ from its file name; accepted: "
            f"protocol: {name}, version: {version}"
        )
    return found


def named(name: str | Path) -> Protocol:
    """The protocol a name (``digits``, ``digits_v1``) or a protocol file's path names (a file
    outside ``experiments/benchmark/``: a protocol being drafted, or a test's). A file is
    passed as a :class:`~pathlib.Path` (docs/benchmark.md): text is a protocol's name, and text
    that reads as a path (``drafts/mine_v1.yaml``) is refused saying so, not as an unknown
    protocol (no name holds ``/`` or ``.yaml``)."""
    if isinstance(name, str) and ("/" in name or "\\" in name or name.endswith((".yaml", ".yml"))):
        raise UserError(
            f"protocol={name!r} is a path given as text, which names a released protocol; "
            f"accepted: the file as a Path, protocol=Path({name!r}), or a released protocol's "
            "name (protocol='digits')"
        )
    if isinstance(name, Path):
        if not FILE.fullmatch(name.name):
            raise UserError(
                f"protocol={str(name)!r} is not named as a protocol file; accepted: a file "
                "named <name>_v<k>.yaml (lower case, e.g. mine_v1.yaml), its block saying "
                "protocol: <name>, version: <k>"
            )
        if not name.is_file():  # a mistyped path: not read as an unknown protocol's name
            raise UserError(
                f"protocol={str(name)!r} is not a file; accepted: the path of a protocol file "
                "(<name>_v<k>.yaml), or a released protocol's name (protocol='digits')"
            )
        return protocol(name.stem, folder=name.parent)
    return protocol(name)
