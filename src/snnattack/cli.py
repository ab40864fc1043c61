"""The command line's error handling: every mistake a user can fix is one line and exit code 2.

Hydra composes the config before the job function runs, so a mistyped group choice
(``model=vgg12``, ``experiment=typo``, which Hydra would silently skip because the group is
optional) or an unknown key would otherwise print Hydra's several lines and exit 1.
:func:`main` checks group choices against the config folder first, then runs Hydra with
its exceptions passed through and turns the ones a user can fix into one line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, Override
from hydra.errors import HydraException

from snnattack.errors import ConfigError, UserError

EXIT_USER_ERROR = 2
HYDRA_FILES = (".hydra",)  # what Hydra writes into a job folder before the job runs


def one_line(err: BaseException) -> str:
    """The user-facing line of ``err``; a DataLoader worker's wrapped error is unwrapped.

    PyTorch re-raises a worker's exception in the main process with the same class but with
    the worker's traceback as its message; the original message is its last line.
    """
    text = str(err).strip()
    if "Original Traceback" in text:
        last = text.splitlines()[-1]
        text = last.split(f"{type(err).__name__}: ", 1)[-1]
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _names(value: object) -> list[str]:
    if isinstance(value, ChoiceSweep):
        return [n for v in value.list for n in _names(v)]
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return [value] if isinstance(value, str) else []


def _overrides(argv: list[str]) -> list[Override]:
    return OverridesParser.create().parse_overrides(
        [a for a in argv if "=" in a and not a.startswith("-")]
    )


def check_override_keys(argv: list[str], conf_dir: Path) -> None:
    """Refuses an override (``key=value`` or ``+key=value``) of a key that is neither a
    config group of ``conf_dir`` nor a key the project reads (:mod:`snnattack.config.keys`),
    before Hydra composes anything."""
    from snnattack.config.keys import is_known, unknown_key_error  # it imports torch

    for override in _overrides(argv):
        key = override.key_or_group
        if override.is_delete() or key.startswith("hydra") or (conf_dir / key).is_dir():
            continue
        if not is_known(key, conf_dir):
            names = _names(override.value())
            raise unknown_key_error(key, names[0] if names else None, conf_dir)


def check_group_choices(argv: list[str], conf_dir: Path) -> None:
    """Refuses a config-group choice on the command line that names no file in ``conf_dir``."""
    for override in _overrides(argv):
        group = conf_dir / override.key_or_group
        if override.is_delete() or override.key_or_group.startswith("hydra") or not group.is_dir():
            continue
        choices = sorted(p.stem for p in group.glob("*.yaml") if not p.stem.startswith("_"))
        for name in _names(override.value()):
            if name not in choices and name != "null":
                hint = _hint(override.key_or_group, name)
                raise ConfigError(
                    f"{override.key_or_group}={name} is unknown{hint}; "
                    f"accepted: {', '.join(choices)}"
                )


def _hint(group: str, name: str) -> str:
    """What a user most likely meant by an unknown group choice ("" if nothing)."""
    if group == "experiment":
        from snnattack.config.keys import experiment_hint  # only here: it imports torch

        return experiment_hint(name)
    if group == "train":
        from snnattack.training import STRATEGIES  # only here: it imports torch

        if name in STRATEGIES:
            return f" (a kind of training, not a recipe: train.kind={name})"
    return ""


def _hydra_line(err: HydraException) -> str:
    """Hydra's composition errors in one line: what could not be done, and why."""
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        lines.insert(1, f"({str(cause).strip().splitlines()[0]})")
    return " ".join(lines)


def discard_job_folder(output_dir: Path) -> None:
    """Removes a job folder that holds only what Hydra wrote before the job was refused."""
    if not output_dir.is_dir():
        return
    own = {p.name for p in output_dir.iterdir()}
    if all(name in HYDRA_FILES or name.endswith(".log") for name in own):
        shutil.rmtree(output_dir, ignore_errors=True)


def refuse(err: UserError, output_dir: Path | None = None) -> None:
    """Prints ``err`` as one line, removes the untouched job folder, exits with code 2."""
    print(f"error: {one_line(err)}", file=sys.stderr)
    if output_dir is not None:
        discard_job_folder(output_dir)
    raise SystemExit(EXIT_USER_ERROR)


class ArgumentParser(argparse.ArgumentParser):
    """argparse for this project's other commands: a refused argument is one line and exit
    code 2, like ``run.py`` (argparse itself prints its usage block first)."""

    def error(self, message: str) -> NoReturn:
        refuse(ConfigError(f"{message}; accepted: see {self.prog} --help"))


def main(hydra_main: Callable[[], None], conf_dir: Path) -> None:
    """Runs a ``@hydra.main`` function; a user's mistake ends as one line and exit code 2."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's exceptions reach us, not its printer
    try:
        from snnattack.config.keys import canonical  # only here: it imports torch

        sys.argv[1:] = canonical(sys.argv[1:])
        check_group_choices(sys.argv[1:], conf_dir)
        check_override_keys(sys.argv[1:], conf_dir)
        hydra_main()
    except UserError as err:
        refuse(err)
    except HydraException as err:
        print(f"error: {_hydra_line(err)}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None
    except OSError as err:
        if err.filename is None:
            raise
        print(
            f"error: cannot write {err.filename} ({err.strerror}); accepted: a writable "
            "folder with free space",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USER_ERROR) from None
