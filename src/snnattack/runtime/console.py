"""A quiet console: what a job prints is its own (paths, models, results, time), not the
libraries' banners, adverts and known deprecation warnings (:func:`quiet_libraries`; anything
else Lightning logs or warns still shows), each line once (:func:`one_console`), and the
progress bar's test task named per attack (:func:`describe_test`).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar

from snnattack.process.distributed import local_rank

# Lightning's info lines that describe the library, not the job: its advice to trade float32
# precision for speed, which attacks must not take, and a stop the job says in its own line
NOISE = re.compile(
    r"^(GPU available|TPU available|HPU available|💡 Tip:|`Trainer\(limit_\w+=[\d.]+\)` was "
    r"configured so|`Trainer.fit` stopped: `max_epochs=\d+` reached|LOCAL_RANK: \d+ - "
    r"CUDA_VISIBLE_DEVICES|You are using a CUDA device .* that has Tensor Cores|"
    r"\[rank: \d+\] Received SIGTERM)"
)
# warnings (message start) that the libraries raise about each other, not about our code,
# and Lightning's about a store work folder that holds what a training resumes from
KNOWN_WARNINGS = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"Checkpoint directory .*\.partial exists and is not empty",
    # under DDP: every value a job logs per epoch is a torchmetrics compute(), synchronised
    # across the processes already
    r"It is recommended to use `self.log\('[^']*', \.\.\., sync_dist=True\)`",
)
# the loggers to which Lightning may give a console handler of its own
LIGHTNING_CONSOLES = ("lightning", "lightning.fabric", "lightning.pytorch")
LIGHTNING_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning.pytorch.trainer.connectors.signal_connector",
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not NOISE.match(record.getMessage())


def quiet_libraries() -> list[tuple[logging.Logger, logging.Filter]]:
    """Drops Lightning's banners and tips and the known deprecation warnings (idempotent), for
    the process (a job's); returns the loggers' filters it added."""
    added = []
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            added.append((logger, _DropNoise()))
            logger.addFilter(added[-1][1])
    for message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    return added


def one_console() -> None:
    """Each line a job (the command's, whose root logger Hydra configured) logs reaches the
    console once, from rank 0. Lightning's loggers' own console handlers (``lightning``
    always, its subpackages where the root had none at their import, then not propagating)
    are dropped and their lines go to the root's handlers. A DDP rank other than local rank 0
    (started in rank 0's terminal) keeps only the root's file handlers (Hydra's
    ``train_ddp_process_<rank>.log`` in the job folder)."""
    root = logging.getLogger()
    if not root.handlers:
        return
    for name in LIGHTNING_CONSOLES:
        _drop_consoles(logging.getLogger(name))
        logging.getLogger(name).propagate = True
    if local_rank() > 0:
        _drop_consoles(root)


def _drop_consoles(logger: logging.Logger) -> None:
    """Removes ``logger``'s handlers that write to a stream other than a file."""
    for handler in list(logger.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            logger.removeHandler(handler)


@contextmanager
def libraries_quieted() -> Iterator[None]:
    """:func:`quiet_libraries` within the block only (the Python API's calls): the user's own
    Lightning code after it keeps the banners and warnings it would show, such as DDP's advice
    to synchronise what it logs."""
    with warnings.catch_warnings():
        added = quiet_libraries()
        try:
            yield
        finally:
            for logger, noise in added:
                logger.removeFilter(noise)


def describe_test(trainer: L.Trainer, text: str) -> None:
    """Names the test progress bar's task ``text`` (e.g. the attack being run)."""
    bar = trainer.progress_bar_callback
    if isinstance(bar, RichProgressBar):
        task = getattr(bar, "test_progress_bar_id", None)
        if bar.progress is not None and task is not None:
            style = bar.theme.description
            bar.progress.update(task, description=f"[{style}]{text}" if style else text)
            bar.refresh()
    elif isinstance(bar, TQDMProgressBar) and bar._test_progress_bar is not None:
        bar.test_progress_bar.set_description(text)
