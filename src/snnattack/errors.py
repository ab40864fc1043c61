"""User-facing errors: bad config values, missing or corrupt data and checkpoints.

``run.py`` prints a :class:`UserError` as one line and exits non-zero, without a traceback.
"""


class UserError(Exception):
    """A mistake the user can fix; the message names the key/path and what is accepted."""


class ConfigError(UserError):
    """A config value out of its accepted range."""


class DataError(UserError):
    """A dataset that is missing, corrupt or laid out wrongly."""


class CheckpointError(UserError):
    """A stored checkpoint that cannot be read or does not fit the model."""


class ShapeError(CheckpointError):
    """A checkpoint whose tensor is of another shape than the model's (other classes, input
    channels or widths)."""


class WriteError(UserError):
    """A file the job must write that the file system refused (disk full, read-only folder);
    the message names the destination (``path``), not a temporary file."""

    def __init__(self, path: object, reason: str | None = None) -> None:
        self.path, self.reason = path, reason
        if reason is None:  # PyTorch re-raises a DataLoader worker's error from its text alone
            super().__init__(path)
            return
        super().__init__(
            f"cannot write {path} ({reason}); accepted: a writable folder with free space"
        )


class TrainingError(UserError):
    """Training that cannot give a usable model (a diverging, non-finite loss)."""


class Preempted(BaseException):
    """SIGTERM (a cluster's preemption, ``kill``) or SIGINT (Ctrl-C): stop cleanly, keep what
    can be resumed.

    A ``BaseException`` so that no ``except Exception`` on the way turns it into a failure
    record; ``run.py`` reports it in one line and exits with 128 + the signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


class FinishedElsewhere(Exception):
    """A job of a sweep whose finished results another job folder of the same sweep holds
    (the same settings, in the folder a launch of another list of values gave them): the job
    is skipped, and its own new folder, which holds nothing else, is removed (one that was
    there stays as it was), and the empty folders its launch made above it as the sweep ends
    (:class:`~snnattack.runtime.lifecycle.KeptRecords`), so that the table and the report
    show those settings once."""

    def __init__(self, folder: object) -> None:
        super().__init__(f"results in {folder}")
        self.folder = folder


class RankLost(Exception):
    """Another process of a DDP job stopped while this one, which started it, ran with it:
    killed by the machine (out of memory, a node's or a scheduler's kill of one process) or
    failed by itself. This process cannot go on without it; what the job had trained is kept
    (``last.ckpt``), so the same command resumes it. Not a :class:`UserError`: nothing in the
    config is wrong, and the job's folder (the stopped process's log) stays as it is.
    ``command.py`` reports it in one line and exits with :attr:`exit_code`."""

    exit_code = 3  # neither a user's mistake (2) nor a signal of this process's (128 + n)

    def __init__(self, rank: int, returncode: int, log: object | None) -> None:
        how = f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
        where = f"; its log: {log}" if log is not None else ""
        super().__init__(
            f"the job's DDP process of rank {rank} stopped ({how}{where}), and this one cannot "
            "go on without it; relaunch the same command to resume"
        )


class WorkerLost(Exception):
    """A process that ran one of a sweep's jobs stopped without its result: a worker of a
    launcher that runs the jobs in a pool (joblib's: ``parallel``, ``joblib``), or a submitit
    task (``local_submitit``, ``slurm``), killed by the machine (out of memory) or by a
    signal. The launcher then raised its own error in the launching process, which ended the
    sweep in its traceback (exit code 1). Not a :class:`UserError`: what the jobs had trained
    is kept (``last.ckpt``) and finished jobs are skipped, so the same command resumes the
    sweep. ``cli.main`` says it in one line (the message,
    :func:`snnattack.runtime.launchers.worker_lost`) and exits with :attr:`exit_code`, as a
    lost DDP rank (:class:`RankLost`)."""

    exit_code = 3  # neither a user's mistake (2) nor a signal of this process's (128 + n)


def module_named(model: object, name: str, module: object) -> str:
    """A refusal's words for ``model``'s module at path ``name``: as the model shows it
    (:meth:`snnattack.models.base.SpikingNet.shown`: the user's layer and class), else the
    path and class."""
    shown = getattr(model, "shown", None)
    if shown is not None:
        return shown(name, module)
    return f"{name or 'model'} ({type(module).__name__})"


def class_name(obj: object) -> str:
    """``obj``'s class with its module path, as a message names it (e.g.
    ``snntorch._neurons.leaky.Leaky``)."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
