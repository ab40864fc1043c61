"""The sweep's jobs (hydra_plugins.snnattack_sweeper): a setting of one choice of a
multi-select group goes only to the jobs that choose it; one that no job's choice reads stays
in every job, and is refused there as in a single run. A mistake of every job's config is
refused before the first job."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from harness import QUICK, QUIET, cli, compose, snapshot, sweep_metrics
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from hydra_plugins.snnattack_sweeper import choice_sweeper
from hydra_plugins.snnattack_sweeper.choice_sweeper import ChoiceSweeper, names_varied
from snnattack.config.validation import check_sweep
from snnattack.data import cifar
from snnattack.errors import UserError
from snnattack.package import CONF_DIR
from snnattack.records.failures import refused_jobs_line
from snnattack.runtime.launchers import swept_choice_settings


def jobs(*arguments: str) -> list[list[str]]:
    overrides = OverridesParser.create().parse_overrides(list(arguments))
    return [job for batch in ChoiceSweeper.split_arguments(overrides, None) for job in batch]


def test_a_choice_setting_goes_to_the_jobs_that_choose_it() -> None:
    assert jobs("method=[fgsm],[pgd,apgd]", "method.pgd.steps=3", "+analysis.cost.x=1", "T=2") == [
        ["method=[fgsm]", "+analysis.cost.x=1", "T=2"],
        ["method=[pgd,apgd]", "method.pgd.steps=3", "+analysis.cost.x=1", "T=2"],
    ]
    spaced = "method.ensemble.components=[{attack: rga, method: pgd}]"
    listed = "method.ensemble.components=[{attack:rga,method:pgd}]"  # as Hydra writes it
    assert jobs("method=[ensemble],[fgsm]", spaced, "seed=0,1") == [
        ["method=[ensemble]", listed, "seed=0"],
        ["method=[ensemble]", listed, "seed=1"],
        ["method=[fgsm]", "seed=0"],
        ["method=[fgsm]", "seed=1"],
    ]


def test_a_job_that_leaving_a_setting_out_repeats_runs_once() -> None:
    assert jobs("method=[fgsm],[pgd]", "method.pgd.steps=1,2") == [
        ["method=[fgsm]"],
        ["method=[pgd]", "method.pgd.steps=1"],
        ["method=[pgd]", "method.pgd.steps=2"],
    ]


def test_a_setting_that_no_job_chooses_stays_in_every_job() -> None:
    assert jobs("method=[fgsm],[bim]", "method.pgd.steps=3") == [
        ["method=[fgsm]", "method.pgd.steps=3"],
        ["method=[bim]", "method.pgd.steps=3"],
    ]
    assert jobs("attack=rga,stbp", "method.pgd.steps=3") == [  # method= at its default
        ["attack=rga", "method.pgd.steps=3"],
        ["attack=stbp", "method.pgd.steps=3"],
    ]


def test_a_sweep_over_method_lists_runs_with_a_setting_of_one(
    tmp_path: Path, digits_store: Path
) -> None:
    """It was refused whole: the FGSM job's method.pgd.steps named a method it does not hold."""
    done = cli(
        "-m",
        *QUIET,
        "method=[fgsm],[pgd]",
        "method.pgd.steps=2",
        "eps=[16]",
        "boxes=[white]",
        f"store.dir={digits_store}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fgsm, pgd = sweep_metrics(tmp_path / "sweep")
    assert [r["method"] for r in fgsm["results"]] == ["fgsm"] and "pgd" not in fgsm["config"][
        "method"
    ]
    assert [r["method"] for r in pgd["results"]] == ["pgd"]
    assert pgd["config"]["method"]["pgd"]["steps"] == 2


def test_a_setting_of_a_swept_choice_is_a_sweep_of_its_one_value_for_hydra(tmp_path: Path) -> None:
    """Hydra composes a sweep's own config from the defaults and applied a plain setting there:
    one of a choice the defaults lack refused the sweep. Only such settings change."""
    argv = [
        "-m",
        "analysis=[shuffle],[cost]",
        "analysis.shuffle.mode=neuron",
        "analysis.cost.repeats=1,2",  # a sweep already
        "+analysis.cost.x=1",
        "method.bim.steps=3",  # method= not swept
        "seed=0",
    ]
    assert swept_choice_settings(argv, CONF_DIR) == [
        *argv[:2], "analysis.shuffle.mode=choice(neuron)", *argv[3:]
    ]  # fmt: skip
    assert swept_choice_settings(argv[1:], CONF_DIR) == argv[1:]  # no sweep: as typed
    (tmp_path / "mine.yaml").write_text(
        "defaults:\n  - config\n  - _self_\n"
        "hydra:\n  sweeper:\n    params:\n      analysis: '[shuffle],[cost]'\n"
    )
    in_file = ["-m", "-cd", str(tmp_path), "-cn", "mine", "analysis.shuffle.mode=neuron"]
    assert swept_choice_settings(in_file, CONF_DIR)[-1] == "analysis.shuffle.mode=choice(neuron)"


def test_a_null_setting_of_a_swept_choice_is_added_for_hydra_and_typed_for_its_jobs() -> None:
    """``method.pgd.alpha=null`` (documented: eps / eps_per_alpha) beside
    ``method=[fgsm],[pgd]`` became ``choice(null)``, which Hydra's grammar refuses (a choice
    holds no null, nor no value at all), then stayed as typed, which Hydra's compose of the
    sweep's own config refused where the defaults lack its choice
    (``analysis.shuffle.limit_batches=null``: "shuffle, which is not in the chosen
    analysis"). It is now ``++``, which Hydra adds there, and the sweeper gives it as typed to
    the jobs that choose it only."""
    argv = ["-m", "method=[fgsm],[pgd]", "method.pgd.alpha=null", "method.pgd.steps=2"]
    assert swept_choice_settings(argv, CONF_DIR) == [
        *argv[:2], "++method.pgd.alpha=null", "method.pgd.steps=choice(2)"
    ]  # fmt: skip
    argv[2] = "method.pgd.alpha="  # no value at all: as typed, Hydra's to refuse
    assert swept_choice_settings(argv, CONF_DIR)[2] == "method.pgd.alpha="
    argv = ["-m", "analysis=[shuffle],[cost]", "analysis.shuffle.limit_batches=null"]
    rewritten = swept_choice_settings(argv, CONF_DIR)
    assert rewritten[-1] == "++analysis.shuffle.limit_batches=null"
    assert jobs(*rewritten[1:]) == [
        ["analysis=[shuffle]", "analysis.shuffle.limit_batches=null"],
        ["analysis=[cost]"],
    ]
    swept_choice_settings(["lambda=0.5"], CONF_DIR)  # another command: its own
    assert jobs("analysis=[shuffle]", "++analysis.shuffle.seed=null") == [
        ["analysis=[shuffle]", "++analysis.shuffle.seed=null"]  # a ++ typed stays
    ]


def test_a_null_setting_of_a_swept_analysis_runs_in_the_jobs_that_choose_it(
    tmp_path: Path, digits_store: Path
) -> None:
    """``-m 'analysis=[shuffle],[cost]' analysis.shuffle.limit_batches=null`` (the whole test
    split) was refused: "shuffle ... which is not in the chosen analysis"."""
    done = cli(
        "-m",
        *QUIET,
        "analysis=[shuffle],[cost]",
        "analysis.shuffle.limit_batches=null",
        "analysis.cost.repeats=1",
        "trainer.limit_test_batches=1",
        "method=[fgsm]",
        "eps=[16]",
        "boxes=[white]",
        f"store.dir={digits_store}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shuffle, cost = sweep_metrics(tmp_path / "sweep")
    assert shuffle["config"]["analysis"]["shuffle"]["limit_batches"] is None
    assert list(cost["config"]["analysis"]) == ["cost"]
    typed = (tmp_path / "sweep" / "0" / ".hydra" / "overrides.yaml").read_text()
    assert "- analysis.shuffle.limit_batches=null\n" in typed


@pytest.mark.slow
def test_a_sweep_over_analysis_lists_runs_with_a_setting_of_one(
    tmp_path: Path, digits_store: Path
) -> None:
    """``analysis`` holds no choice by default: Hydra's compose of the sweep's own config
    refused analysis.shuffle.mode ("shuffle, which is not in the chosen analysis=[...]"),
    though docs/running.md gives it to the jobs that choose shuffle, as method's settings."""
    done = cli(
        "-m",
        *QUIET,
        "analysis=[shuffle],[cost]",
        "analysis.shuffle.mode=neuron",
        "analysis.cost.repeats=1",
        "method=[fgsm]",
        "eps=[16]",
        "boxes=[white]",
        f"store.dir={digits_store}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shuffle, cost = sweep_metrics(tmp_path / "sweep")
    assert list(shuffle["analyses"]) == ["shuffle"] and shuffle["analyses"]["shuffle"]["mode"] == (
        "neuron"
    )
    assert list(cost["analyses"]) == ["cost"] and cost["analyses"]["cost"]["repeats"] == 1


def test_the_folder_names_keep_only_the_left_out_keys_that_the_sweep_varies() -> None:
    """A key the sweep sets to one value (a relaunch on other devices, ``trainer=ddp``) stays
    out of the names; one it varies, or sets in some jobs only, is named."""
    excluded = ["store.dir", "trainer", "threads", "backend"]
    named = "hydra.job.config.override_dirname.exclude_keys=[{}]"
    assert names_varied(excluded, jobs("trainer=ddp", "threads=1", "seed=0,1")) == []
    assert names_varied(excluded, jobs("trainer=cpu,gpu", "threads=1", "seed=0,1")) == [
        named.format("'store.dir','threads','backend'")
    ]
    assert names_varied(excluded, [["+threads=1"], ["threads=2", "backend=torch"]]) == [
        named.format("'store.dir','trainer'")
    ]
    assert names_varied([], jobs("threads=1,2")) == []


@pytest.mark.slow
def test_a_sweep_over_a_key_left_out_of_the_folder_names_gives_each_value_a_folder(
    tmp_path: Path, digits_store: Path
) -> None:
    """``hydra.sweep.subdir=${hydra.job.override_dirname}`` names a folder without ``threads``
    (so that a relaunch with other threads finds its jobs): a sweep over ``threads=1,2`` put
    both jobs in one folder, where the second skipped the first's results as its own (a speed
    comparison measured once). Relaunched, each job finds its folder."""
    sweep = tmp_path / "sweep"
    command = [
        "-m", *QUICK, "seed=0", f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}", "threads=1,2",
    ]  # fmt: skip
    done = cli(*command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    named = [f"eps=[32],method=[fgsm],seed=0,threads={n},train.epochs=1" for n in (1, 2)]
    found = sorted(sweep.rglob("metrics.json"))
    assert [p.parent.name for p in found] == named
    assert [json.loads(p.read_text())["config"]["threads"] for p in found] == [1, 2]
    again = cli(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (again.stdout + again.stderr).count("complete for this config: skipping the job") == 2
    assert sorted(sweep.rglob("metrics.json")) == found


@pytest.mark.parametrize(
    "overrides,refusal",
    [
        (["dataset=cifar10"], "model=digits_net does not fit dataset=cifar10 (input 3x32x32: "),
        (  # every job's data missing: the launch folder's data/ holds no CIFAR-10
            ["dataset=cifar10", "model=vgg11", "train=paper", "dataset.params.download=false"],
            "CIFAR-10 not found: no folder data/cifar-10-batches-py",
        ),
    ],
    ids=["combination", "data"],
)
def test_a_mistake_of_every_job_is_refused_once_before_the_sweep_writes_anything(
    tmp_path: Path, overrides: list[str], refusal: str
) -> None:
    """Each job was refused in turn, and the sweep's folder kept its record of the launch."""
    proc = cli("-m", *overrides, "seed=0,1", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: job 0 ({' '.join(overrides)}".replace("=false", "=False"))
    assert refusal in line
    assert line.endswith("the sweep launched no job: every one of its 2 jobs is refused")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sweep", ["seed=range(0,0)", "T=shuffle(range(5,1))"])
def test_a_sweep_of_no_value_is_refused_before_the_sweep_writes_anything(
    tmp_path: Path, sweep: str
) -> None:
    """Hydra made a sweep of no job: it wrote the sweep's folder (multirun.yaml), printed
    that no report was written, and exited 0."""
    proc = cli("-m", "lambda=0.5,1.0", sweep, f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"error: {sweep} sweeps no value, so the sweep would run no job; accepted: one value or "
        "more (a list a,b,c, or range(start,stop,step) with start < stop: its values stop "
        "before stop, range(1,4) is 1, 2, 3)"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("sweep", "accepted"),
    [
        ("model=glob(vggg*)", "a glob that matches one or more of digits_net, digits_resnet,"),
        ("attack=glob(*,exclude=*)", "a glob that matches one or more of ann, assg, bptr,"),
        ("lambda=glob(*)", "lambda is no config group; accepted: a list a,b,c or range("),
    ],
)
def test_a_glob_of_no_choice_is_refused_before_the_sweep_writes_anything(
    tmp_path: Path, sweep: str, accepted: str
) -> None:
    """A glob that matches no choice (a misspelt pattern, or a key that is no config group)
    made a sweep of no job: Hydra wrote the sweep's folder, printed that no report was
    written, and exited 0."""
    proc = cli("-m", sweep, f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {sweep} matches no choice, so the sweep would run no job")
    assert accepted in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("folder", ["${hydra:runtime.output_dir}", "${hydra: runtime.output_dir}"])
def test_a_config_that_reads_the_jobs_folder_is_left_to_each_job(
    tmp_path: Path, folder: str
) -> None:
    """The check read ``${hydra:runtime.output_dir}`` as None (``None/model.pt``) and refused
    a sweep whose every job would have found its file."""
    proc = cli(
        "-m",
        f"checkpoint={folder}/absent.pt",
        "seed=0,1",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"checkpoint='{tmp_path}/sweep/0/absent.pt' is not a file" in proc.stderr
    assert "None/" not in proc.stderr


@pytest.mark.parametrize(
    "launcher,earlier",
    [
        pytest.param((), False, id="basic-new"),
        pytest.param((), True, id="basic-earlier"),
        # joblib's workers' first start is most of 10 s: one joblib case in the default run
        pytest.param(("hydra/launcher=parallel",), False, id="joblib-new", marks=pytest.mark.slow),
        pytest.param(("hydra/launcher=parallel",), True, id="joblib-earlier"),
    ],
)
def test_a_sweep_whose_every_job_refuses_itself_leaves_its_folder_as_it_was(
    tmp_path: Path, launcher: tuple[str, ...], earlier: bool
) -> None:
    """A mistake that each job checks itself (its config reads its own folder) in every job:
    the sweep exited 2 with a line per job, but left its folder (``multirun.yaml``,
    ``launches.jsonl``, ``failures.jsonl``) behind, and an earlier launch's records grown by
    this one's. It is one line, as a mistake of every job refused before the first, no report,
    and the folder as it was: gone with the folders above it, or an earlier launch's (its
    unfinished job's folder too) byte for byte."""
    sweep = tmp_path / "multirun" / "day" / "sweep"
    if earlier:
        (sweep / "0" / ".hydra").mkdir(parents=True)
        (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=3\n")
        (sweep / "0" / "run.log").write_text("an interrupted job's log\n")
        (sweep / "multirun.yaml").write_text("hydra: {mode: MULTIRUN}\n")
        (sweep / "launches.jsonl").write_text('{"hydra": {}, "jobs": [["seed=3"]]}\n')
        (sweep / "failures.jsonl").write_text(
            '{"job": 1, "folder": "1", "overrides": ["seed=4"], "error": "E"}\n'
        )
    before = snapshot(tmp_path)
    proc = cli(
        *launcher,
        "-m",
        "checkpoint=${hydra:runtime.output_dir}/absent.pt",
        "seed=0,1",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error: job ")]
    assert line.startswith("error: job 0 (checkpoint=")
    assert f"checkpoint='{sweep}/0/absent.pt' is not a file" in line
    assert "the sweep wrote nothing: every one of its 2 jobs was refused" in line
    assert "job(s) of the sweep failed" not in proc.stderr
    assert "report:" not in proc.stdout + proc.stderr
    assert snapshot(tmp_path) == before
    assert sweep.is_dir() == earlier and (tmp_path / "multirun").is_dir() == earlier


def compose_job(*overrides: str) -> tuple[list[str], DictConfig]:
    return list(overrides), compose(*overrides)


def test_a_sweep_launches_where_one_job_passes_or_a_config_is_the_jobs_to_check() -> None:
    """Only a mistake of every job stops the sweep at once (a refused job otherwise fails
    alone, as it always did); a config that reads what only its launch sets (None) is the
    job's to check."""
    wrong = compose_job("dataset=cifar10")
    check_sweep([wrong, compose_job("lambda=0.5"), wrong], here=True)
    check_sweep([(["checkpoint=${hydra:runtime.output_dir}/m.pt"], None), wrong], here=True)
    with pytest.raises(UserError, match=r"^job 0 \(dataset=cifar10\).* every one of its 2 jobs"):
        check_sweep([wrong, wrong], here=True)


def test_data_to_download_is_downloaded_once_before_the_first_job_and_refused_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CIFAR-10 missing with ``download: true`` was each job's first work: offline, a sweep of
    12 jobs printed the download's refusal 12 times, each job trying again (and jobs run side
    by side would download into one folder at once)."""
    tried: list[str] = []

    def offline(url: str, root: str, filename: str, **kwargs: object) -> None:
        tried.append(url)
        raise URLError("no network")

    monkeypatch.setattr(cifar, "download_and_extract_archive", offline)
    root = tmp_path / "data"
    job = compose_job("dataset=cifar10", "model=vgg11", f"dataset.params.root={root}")
    with pytest.raises(UserError) as refused:
        check_sweep([job, job], here=True)
    line = str(refused.value)
    assert line.startswith("job 0 (dataset=cifar10 model=vgg11 dataset.params.root=")
    assert "could not download CIFAR-10 from https://" in line
    assert line.endswith("the sweep launched no job: every one of its 2 jobs is refused")
    assert len(tried) == 1 and not root.exists()


def test_a_model_file_cut_short_in_every_job_is_refused_before_the_first_job(
    tmp_path: Path,
) -> None:
    """A damaged ``checkpoint=`` file was found only as each job loaded it: every job failed in
    turn and the sweep's folder kept its launch and failure records."""
    cut = tmp_path / "cut.pt"
    cut.write_bytes(b"PK\x03\x04" + bytes(60))  # a zip archive's start, without its end
    job = compose_job(f"checkpoint={cut}", "boxes=[white]")
    with pytest.raises(UserError) as refused:
        check_sweep([job, job], here=True)
    line = str(refused.value)
    assert f"checkpoint={cut} is missing, corrupt or unreadable (a zip archive cut short" in line
    assert line.endswith("the sweep launched no job: every one of its 2 jobs is refused")


def test_a_model_file_that_fits_no_job_is_refused_before_the_first_job(tmp_path: Path) -> None:
    """A whole ``checkpoint=`` file of another network (a linear layer's state dict) passed the
    sweep's check and was refused only as each job loaded it: a refusal per job, the report's
    failure, the summary, and the sweep's folder kept its launch and failure records."""
    other = tmp_path / "linear.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), other)
    sweep = tmp_path / "sweep"
    proc = cli(
        "-m",
        f"checkpoint={other}",
        "lambda=0.5,1.0",
        *QUICK,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: job 0 (checkpoint={other} lambda=0.5 ")
    assert f"checkpoint={other}: reference key weight is not a name of" in line
    assert line.endswith("the sweep launched no job: every one of its 2 jobs is refused")
    assert not sweep.exists()


def test_the_machine_and_its_files_are_checked_only_where_the_jobs_run_here() -> None:
    """A cluster's sweep (hydra/launcher=slurm) was refused on the login node: fewer cores or
    no GPU there, its data on the nodes' disks."""
    data = ["dataset=cifar10", "model=vgg11", "train=paper", "dataset.params.download=false"]
    # more DDP processes than this machine's cores (the loader's workers are the job's to
    # check: refused only where it trains with them, a lookup of its store keys)
    for overrides in (["trainer=ddp_cpu", "trainer.devices=1000"], data):
        job = compose_job(*overrides)
        check_sweep([job], here=False)
        with pytest.raises(UserError):
            check_sweep([job], here=True)


def test_a_value_of_the_nodes_environment_is_theirs_to_resolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cluster's sweep reading ${oc.env:SLURM_TMPDIR} was refused on the login node."""
    monkeypatch.delenv("SLURM_TMPDIR", raising=False)
    job = compose_job("dataset=cifar10", "model=vgg11", "train=paper")
    job[1].dataset.params.root = "${oc.env:SLURM_TMPDIR}/data"
    check_sweep([job, job], here=False)
    with pytest.raises(UserError, match="cannot be resolved"):
        check_sweep([job, job], here=True)  # here, the jobs would not resolve it either


def test_the_jobs_of_another_refusal_are_named_in_runs() -> None:
    """Each job refused otherwise is named, runs of them as ranges: a shared refusal of 20 jobs
    stays a short phrase."""
    refused = [(0, ["a=1"], "first"), *((n, [], "other") for n in (1, 2, 3, 5)), (6, [], "last")]
    assert refused_jobs_line(refused, "the sweep launched no job", "is") == (
        "job 0 (a=1): first; the sweep launched no job: every one of its 6 jobs is refused "
        "(refused otherwise: jobs 1-3, 5: other; job 6: last)"
    )


def test_jobs_refused_for_other_reasons_are_said_beside_the_first() -> None:
    """The first job's advice (accepted: vgg11) did not mend the second, refused otherwise."""
    digits_net = compose_job("dataset=cifar10", "dataset.params.download=false")
    vgg11 = compose_job("dataset=cifar10", "dataset.params.download=false", "model=vgg11")
    with pytest.raises(UserError) as refused:
        check_sweep([digits_net, vgg11, vgg11], here=True)
    line = str(refused.value)
    assert "model=digits_net does not fit dataset=cifar10" in line
    # each job refused otherwise named: "job 1" alone read as if job 2 were refused as job 0
    assert "every one of its 3 jobs is refused (refused otherwise: jobs 1-2: " in line
    assert line.count("CIFAR-10 not found") == 1
    # a few, then how many more: the line stays one line
    steps = [
        compose_job("method=[pgd]", f"method.pgd.steps={k}", "attack.steps_curve=[50]")
        for k in range(1, 7)
    ]
    with pytest.raises(UserError) as refused:
        check_sweep(steps, here=True)
    assert str(refused.value).endswith("; and 3 more)")


@pytest.mark.parametrize("chosen", ["hydra/launcher=slurm", "experiment"])
def test_a_sweep_to_slurm_from_a_machine_without_it_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chosen: str
) -> None:
    """submitit raised its RuntimeError ('Could not detect "srun"') with a traceback, after
    the sweep's folder was written; a config file's choice of the launcher alike."""
    monkeypatch.setattr(choice_sweeper.shutil, "which", lambda name: None)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "exp.yaml").write_text(
        "defaults:\n  - config\n  - override hydra/launcher: slurm\n  - _self_\n"
    )
    given = ["-cd", str(tmp_path / "mine"), "-cn", "exp"] if chosen == "experiment" else [chosen]
    proc = cli("-m", *given, "seed=0,1", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: hydra/launcher=slurm submits the jobs to Slurm, whose srun ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
