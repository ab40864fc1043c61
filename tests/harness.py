"""What the tests share: the repository's folders, Hydra composition, ``run.py`` run in this
process or in a child process, and W&B run files read back. ``conftest.py`` wraps these in
fixtures; module-level code (parametrize lists, module-scoped fixtures) imports them from here.

``run.py`` in this process costs a fraction of a second; a child process pays about 6 s of
imports (torch, Lightning, Hydra, W&B) each time, so it is kept for what needs the process
boundary: signals, DDP, launchers that start their own processes.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import logging
import os
import runpy
import shlex
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException
from omegaconf import DictConfig

if TYPE_CHECKING:
    import pytest

    from snnattack.training.trained import Built

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
EXPERIMENTS = ROOT / "experiments"
RUN_PY = ROOT / "run.py"
# no progress bars, and no report of a single run (tests/jobs/test_single_report.py tests it)
QUIET = ["trainer.enable_progress_bar=false", "hydra.callbacks.report.single=false"]
QUICK = [*QUIET, "train.epochs=1", "eps=[32]", "method=[fgsm]"]  # a digits job in a second
# a CIFAR or DVS experiment's wiring on real-format fixtures, not its numbers: one epoch of two
# batches of 4, one test batch of 4 and the masking probes on 4 images (64 by default)
FIXTURE_RUN = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "checks.masking.probe_size=4",
    "checks.masking.unbounded_steps=2",  # the eps = 1 probe's 20 PGD steps cost most of a job here
    "train.batch_size=4",
    "eval_batch_size=4",
    "dataset.params.num_workers=0",
    "threads=1",  # batches of 4 fixtures: one thread is fastest, and the suite shares a process
]
CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "offline"}


def parse_yaml_once() -> None:
    """Has PyYAML parse each config text once in this process. Hydra parses every file of a
    composition (about half of its time, PyYAML's loader being pure Python), and the suite
    composes the same few dozen files hundreds of times; a text seen before is copied from its
    first parse. Only OmegaConf's loader is kept; an error is raised as PyYAML raises it,
    naming the file."""
    load = yaml.load
    parsed: dict[Any, Any] = {}

    def once(stream: Any, Loader: Any = None) -> Any:  # noqa: N803  PyYAML's keyword
        if getattr(Loader, "__name__", "") != "OmegaConfLoader":
            return load(stream, Loader)
        text = stream if isinstance(stream, str | bytes) else stream.read()
        if text not in parsed:
            named = io.StringIO(text) if isinstance(text, str) else io.BytesIO(text)
            named.name = getattr(stream, "name", "<file>")  # in PyYAML's error marks
            parsed[text] = load(named, Loader)
        return copy.deepcopy(parsed[text])

    once.__wrapped__ = load  # type: ignore[attr-defined]  the parse itself, for its test
    yaml.load = once


def compose(*overrides: str, experiment: str | None = None, hydra: bool = False) -> DictConfig:
    """``conf/config.yaml`` (or ``experiments/EXPERIMENT.yaml`` on top of it) with
    ``overrides``, as Hydra composes it for a job; ``hydra=True`` keeps the ``hydra`` node
    (sweeper params, callbacks). Each test gets its own copy, free to change.

    Hydra composes in two stages: the defaults list (the config groups the overrides choose)
    is merged node by node (about 0.4 s), then the other overrides (``key=value``, ``+key``,
    ``~key``) are applied to the result. The first stage is made once per process for each
    choice of groups and copied (15 ms); the second is Hydra's own code on the copy
    (``tests/unit/test_harness.py`` holds the two paths equal)."""
    folder, name, extra = _config(experiment)
    groups, values = _stages(overrides, folder) if not hydra else (overrides, [])
    cfg = copy.deepcopy(_composed(folder, name, (*extra, *groups), hydra))
    ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
    return cfg


def _config(experiment: str | None) -> tuple[Path, str, tuple[str, ...]]:
    """The folder and name of the config (``experiment``'s, or ``conf/config.yaml``) and the
    search path an experiment composes with."""
    if experiment is None:
        return CONF, "config", ()
    return EXPERIMENTS, experiment, (f"hydra.searchpath=[file://{CONF}]",)


def _stages(overrides: tuple[str, ...], folder: Path) -> tuple[tuple[str, ...], list[Override]]:
    """``overrides`` split as Hydra splits them: those that its defaults list takes (a config
    group's choice, a sweep, a ``hydra.`` key, a package) and the values applied after it.
    Text Hydra cannot parse stays with the first, so that Hydra refuses it as it would."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException:
        return overrides, []
    groups, values = [], []
    for o in parsed:
        first = (
            o.is_sweep_override()
            or o.is_hydra_override()
            or o.package is not None
            or any((f / o.key_or_group).is_dir() for f in {folder, CONF})
        )
        if first:
            groups.append(o.input_line)
        else:
            values.append(o)
    return tuple(groups), values


def compose_whole(
    *overrides: str, experiment: str | None = None, hydra: bool = False
) -> DictConfig:
    """:func:`compose` made by Hydra in one call, with no stage kept (what it must equal)."""
    folder, name, extra = _config(experiment)
    return _composed.__wrapped__(folder, name, (*extra, *overrides), hydra)


@functools.cache
def _composed(folder: Path, name: str, overrides: tuple[str, ...], hydra: bool) -> DictConfig:
    """Hydra's composition of ``name`` in ``folder`` (a refusal raises, and is not kept)."""
    with initialize_config_dir(str(folder), version_base="1.3"):
        return hydra_compose(name, overrides=list(overrides), return_hydra_config=hydra)


def resolved(cfg: DictConfig) -> dict[str, Any]:
    """The config tree as plain containers, interpolations resolved and each number spelt as
    its key's rule spells it (what the seams that read the whole tree take: the result spec,
    the relaunch check, the sweep's row keys)."""
    from snnattack.config.spelling import spelt

    return spelt(cfg)


def edited_component_file(
    monkeypatch: pytest.MonkeyPatch, folder: Path, group: str, name: str, old: str, new: str
) -> None:
    """``conf/<group>/<name>.yaml`` as a user's edit leaves it (``old`` replaced by ``new``),
    where an ensemble's components read their methods' and gradient modes' files
    (:mod:`snnattack.attacks.parse`): those two groups copied into ``folder``. A composed
    config stays the checkout's, as a config that lists the component by name does."""
    from snnattack.attacks import parse

    for copied in ("attack", "method"):
        shutil.copytree(parse.CONF_DIR / copied, folder / copied)
    edited = folder / group / f"{name}.yaml"
    assert old in edited.read_text(), f"{old!r} is not in {edited}"
    edited.write_text(edited.read_text().replace(old, new))
    monkeypatch.setattr(parse, "CONF_DIR", folder)


def job_checks(cfg: DictConfig) -> Built:
    """What a job checks before any work (``snnattack.job.run``): the config's validation, then
    its model files loaded and the user's factory's network built and run (what they built is
    returned)."""
    import snnattack.job  # noqa: F401  as in a job: the kinds declare their rules on import
    from snnattack.config.validation import validate
    from snnattack.training.parse import model_settings
    from snnattack.training.trained import built_models

    validate(cfg)
    return built_models(model_settings(cfg))


@contextlib.contextmanager
def _restored_process_state(cwd: Path, env: dict[str, str] | None) -> Iterator[None]:
    """Working folder, environment, argv, torch threads, root logger and Hydra's global state
    as they were before (a run that Hydra stopped midway, ``--cfg job --resolve`` refused,
    left its half-made config for the next test's ``HydraConfig.initialized()``)."""
    saved_cwd, saved_env, saved_argv = Path.cwd(), dict(os.environ), sys.argv
    threads, root = torch.get_num_threads(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    os.chdir(cwd)
    os.environ.update(env or {})
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
        torch.set_num_threads(threads)
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level
        HydraConfig.instance().cfg = None
        GlobalHydra.instance().clear()


FLAGS_WITH_VALUE = ("-cd", "-cn", "-cp", "--config-dir", "--config-name", "--config-path")


def _argv(args: tuple[str, ...]) -> list[str]:
    """``args`` with Hydra's flags (``-m``, ``-cd DIR``, ``-cn NAME``, ...) first: its parser
    takes no flag after the first override."""
    flags, overrides, rest = [], [], iter(args)
    for a in rest:
        if a in FLAGS_WITH_VALUE:
            flags += [a, next(rest)]
        elif a in ("-m", "--multirun"):
            flags.append(a)
        else:
            overrides.append(a)
    return [*flags, *overrides]


def replaced(base: list[str], *overrides: str) -> list[str]:
    """``base``'s overrides less those of the keys that ``overrides`` set, then ``overrides``:
    the command line refuses a key given twice (Hydra would silently take the last)."""
    keys = {o.split("=", 1)[0].lstrip("+") for o in overrides}
    return [o for o in base if o.split("=", 1)[0].lstrip("+") not in keys] + list(overrides)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` run in this process: Hydra, the job or sweep, the callbacks and
    the exit code as on the command line, with stdout and stderr captured. An exception that
    the command line would print as a traceback propagates instead."""
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with _restored_process_state(cwd, env):
        sys.argv = [str(RUN_PY), *_argv(args)]
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                runpy.run_path(str(RUN_PY), run_name="__main__")
        except SystemExit as stop:
            code = stop.code
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(list(args), returncode, out.getvalue(), err.getvalue())


def run_py(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """``python run.py ARGS`` in a child process (one thread, W&B offline): for tests of the
    process boundary itself."""
    return subprocess.run(
        [sys.executable, str(RUN_PY), *_argv(args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **CHILD_ENV, **(env or {})},
        timeout=timeout,
    )


def run_job(
    *overrides: str, output_dir: Path, store: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One ``run.py`` job in this process into ``output_dir`` with models from ``store``;
    its ``metrics.json``. Fails the test with the job's stderr if it did not succeed."""
    args = [*QUIET, *overrides, f"store.dir={store}", f"hydra.run.dir={output_dir}"]
    done = cli(*args, cwd=output_dir.parent, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((output_dir / "metrics.json").read_text())


class RunsCode:
    """A pickled object that a trusting loader (``torch.load(weights_only=False)``,
    ``pickle.load``) turns into a shell command creating ``marker``: plant it where the tool
    reads files, and check that ``marker`` never appears."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by its relative path, with its bytes: a folder left as it
    was compares equal."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def sweep_metrics(sweep: Path) -> list[dict[str, Any]]:
    """The ``metrics.json`` of every job of a sweep folder, by job number."""
    files = sorted(sweep.glob("*/metrics.json"), key=lambda p: int(p.parent.name))
    return [json.loads(p.read_text()) for p in files]


# --- W&B run files ---------------------------------------------------------------------------
# wandb 0.31 ships no reader for its offline ``.wandb`` files (its Go core reads them), so they
# are read here: a LevelDB-style log of ``wandb_internal_pb2.Record`` protobufs. setup.cfg pins
# wandb to the minor version this reader was checked against.
BLOCK, HEADER, FULL, LAST = 32768, 7, 1, 4  # LevelDB log: block size, header bytes, chunk types
EXIT_WAIT = 30  # seconds a finished run's file may take to get its exit record (a busy machine)


def wandb_records(path: Path) -> list[Any]:
    """Every record of a ``.wandb`` run file."""
    from wandb.proto import wandb_internal_pb2

    data, pos, chunk, out = path.read_bytes(), HEADER, b"", []  # the file starts with ":W&B" + 3
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if pos + HEADER + length > len(data):
            break  # the record W&B's service is writing (read_wandb_run reads the file again)
        chunk += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(chunk)
            out.append(record)
            chunk = b""
    return out


def read_wandb_run(folder: Path) -> dict[str, Any]:
    """An offline run folder's name, group, job type, tags, config, history rows, summary,
    artifacts and exit code. The run must have finished (its exit record written)."""
    run: dict[str, Any] = {"history": [], "summary": {}, "artifacts": [], "folder": folder}
    for _ in range(EXIT_WAIT * 10):  # W&B's service may write the file after finish() returns
        records = wandb_records(next(folder.glob("*.wandb")))
        kinds = [r.WhichOneof("record_type") for r in records]
        if "exit" in kinds:
            break
        time.sleep(0.1)
    assert "exit" in kinds, f"{folder} has no exit record: the run did not finish"
    for record, kind in zip(records, kinds, strict=True):
        if kind == "run":
            r = record.run
            run.update(
                name=r.display_name,
                group=r.run_group,
                job_type=r.job_type,
                tags=list(r.tags),
                config={u.key: json.loads(u.value_json) for u in r.config.update},
            )
        elif kind in ("history", "summary"):
            items = record.history.item if kind == "history" else record.summary.update
            values = {i.key or ".".join(i.nested_key): json.loads(i.value_json) for i in items}
            if kind == "history":
                run["history"].append(values)
            else:
                run["summary"].update(values)
        elif kind == "artifact":
            run["artifacts"].append((record.artifact.type, record.artifact.name))
        elif kind == "exit":
            run["exit_code"] = record.exit.exit_code
    return run


def gpu_numerics() -> tuple[bool, bool, bool, bool]:
    """The process's GPU numerics: TF32 in matmuls and in cuDNN, deterministic algorithms,
    cuDNN's benchmarking."""
    flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    return (*flags, torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)


@contextlib.contextmanager
def users_gpu_numerics(flags: tuple[bool, bool, bool, bool]) -> Iterator[None]:
    """The process's GPU numerics set to ``flags`` (a user's own, in :func:`gpu_numerics`'
    order) within the block, as they were before it after it."""
    before = gpu_numerics()

    def put(values: tuple[bool, bool, bool, bool]) -> None:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = values[:2]
        torch.use_deterministic_algorithms(values[2], warn_only=True)
        torch.backends.cudnn.benchmark = values[3]

    put(flags)
    try:
        yield
    finally:
        put(before)


def recording_numerics(into: list, function: Any) -> Any:
    """``function``, which first appends the GPU numerics it runs under to ``into``."""

    def recorded(*args: Any, **kwargs: Any) -> Any:
        into.append(gpu_numerics())
        return function(*args, **kwargs)

    return recorded
