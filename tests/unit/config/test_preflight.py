"""Every file and setting is checked before any training; the other commands refuse in one line."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from harness import compose

from snnattack import job
from snnattack.errors import CheckpointError, ConfigError
from snnattack.job import run
from snnattack.records.store import CHECKPOINT, ModelStore
from snnattack.report.__main__ import main as report_main
from snnattack.report.collect import load_jobs
from snnattack.tools import step_cost
from snnattack.training import workers
from snnattack.training.parse import model_settings, source_config
from snnattack.training.store_key import store_key

TINY = ["trainer=cpu", "train.epochs=1", "trainer.limit_train_batches=2", "eps=[16]"]


def models_in(store: Path) -> list[str]:
    return (
        sorted(p.name for p in store.iterdir() if not p.name.startswith("."))
        if store.exists()
        else []
    )


def test_corrupt_source_checkpoint_is_refused_before_the_target_is_trained(tmp_path: Path) -> None:
    corrupt = tmp_path / "source.pt"
    corrupt.write_bytes(b"not a model")
    cfg = compose(*TINY, "boxes=[black]", f"source_checkpoint={corrupt}", f"store.dir={tmp_path}/m")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CheckpointError, match=f"^source_checkpoint={corrupt} is missing, corrupt"):
        run(cfg, out)
    assert models_in(tmp_path / "m") == [] and list(out.iterdir()) == []


def test_unusable_stored_source_is_refused_before_the_target_is_trained(tmp_path: Path) -> None:
    cfg = compose(*TINY, "boxes=[black]", f"store.dir={tmp_path}/m")
    spec = store_key(model_settings(source_config(cfg)), cfg.seed + cfg.source_seed_offset)
    folder = ModelStore(tmp_path / "m").path(spec)
    folder.mkdir(parents=True)
    torch.save({"state_dict": {}, "record": {}}, folder / CHECKPOINT)  # not this spec's model
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CheckpointError, match="holds another model"):
        run(cfg, out)
    assert models_in(tmp_path / "m") == [folder.name] and list(out.iterdir()) == []


BENCH = [
    (["--model", "vgg99"], "error: argument --model: invalid choice: 'vgg99' (choose from "),
    (["--modes", "stbp", "rgaa"], "error: argument --modes: invalid choice: 'rgaa' (choose from"),
    (["--lam", "1.5"], "error: --lam=1.5 is out of range; accepted: 0 < --lam <= 1"),
    (["--device", "cuda:99"], "error: --device=cuda:99 but this machine has "),
    (["--model", "vgg11"], "error: --model=vgg11 does not fit --input-shape 1 8 8; accepted: "),
]


@pytest.mark.parametrize("argv,line", BENCH, ids=[" ".join(b[0]) for b in BENCH])
def test_bench_refuses_bad_options_in_one_line_with_exit_2(argv, line, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        step_cost.main(argv)
    err = capsys.readouterr()
    assert stop.value.code == 2 and err.out == ""
    assert err.err.count("\n") == 1 and err.err.startswith(line), err.err


def test_report_refuses_a_missing_folder_in_one_line_with_exit_2(tmp_path: Path, capsys) -> None:
    for argv, line in (
        ([str(tmp_path / "nope")], f"error: folder='{tmp_path}/nope' is not a folder; accepted: "),
        ([str(tmp_path)], f"error: no metrics.json under {tmp_path}; accepted: "),
        ([], "error: the following arguments are required: folder; accepted: "),
    ):
        with pytest.raises(SystemExit) as stop:
            report_main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.count("\n") == 1 and err.startswith(line), err


@pytest.mark.slow  # a process each, importing torch: about 10 s
@pytest.mark.parametrize(
    "argv",
    [["snnattack.tools.step_cost", "--modes", "rgaa"], ["snnattack.report", "/no/such/folder"]],
)
def test_bench_and_report_exit_2_as_processes(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")


@pytest.mark.parametrize(
    "leak",
    [
        pytest.param(["lambda=1"], id="lambda=1"),
        pytest.param(
            ["+kinds.l=1", "lambda=${kinds.l}"], id="interpolated", marks=pytest.mark.slow
        ),
    ],
)
def test_a_model_stored_with_more_workers_than_the_cores_is_reused_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leak: list[str]
) -> None:
    """The workers key a trained model, and more of them than the cores were refused: a model
    trained with 3 workers could not be reused on a machine of 2 cores. Only a job that trains
    with them is refused; one whose models are stored attacks with as many as the cores. Each
    run's config is composed anew, as a launch's is (``lambda=1``: the store key spells it
    ``1.0``; ``lambda=${kinds.l}`` keeps the integer it reads, and the refusal's lookup, once a
    check of the config spelt anew, looked for its model under another key and refused the
    job that trains none)."""
    overrides = [*TINY, *leak, "dataset.params.num_workers=3", f"store.dir={tmp_path}/m"]
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(workers, "cores", lambda: 1)  # 2 workers at most
    with pytest.raises(ConfigError, match=r"^dataset.params.num_workers=3 is more than this"):
        run(compose(*overrides), out)  # nothing stored: it would train with them
    assert models_in(tmp_path / "m") == [] and list(out.iterdir()) == []
    monkeypatch.setattr(workers, "cores", lambda: 3)  # a machine of 3 cores trains it
    (tmp_path / "trained").mkdir()
    run(compose(*overrides), tmp_path / "trained")
    monkeypatch.setattr(workers, "cores", lambda: 1)
    loaded, datamodule = [], job.datamodule
    monkeypatch.setattr(job, "datamodule", lambda d: loaded.append(d) or datamodule(d))
    record = run(compose(*overrides), out)
    assert record.models["target"]["cached"]
    assert [d.params["num_workers"] for d in loaded] == [2]  # the attacks'
    assert any(n.startswith("dataset.params.num_workers=3 is more than") for n in record.notes)


def test_a_model_trained_with_a_plain_number_is_reused_by_a_job_that_interpolates_it(
    tmp_path: Path,
) -> None:
    """``lambda=1`` and ``+kinds.l=1 lambda=${kinds.l}`` run one model and one job: the
    second reuses the first's model, not trains it again under another store key (the
    interpolation read the integer ``1``, which validation, spelling the config's plain
    numbers, left as it was); relaunched into the first's folder, it is that finished job,
    not one of other settings (``kinds.l``, which no job reads); and the report counts the
    two as one setting, not two runs of one seed."""
    common = [*TINY, "boxes=[white]", f"store.dir={tmp_path}/jobs/m"]
    interpolated = compose(*common, "+kinds.l=1", "lambda=${kinds.l}")
    for name in ("plain", "interpolated"):
        (tmp_path / "jobs" / name).mkdir(parents=True)
    first = run(compose(*common, "lambda=1"), tmp_path / "jobs/plain")
    second = run(interpolated, tmp_path / "jobs/interpolated")
    assert not first.models["target"]["cached"] and second.models["target"]["cached"]
    assert models_in(tmp_path / "jobs/m") == [first.models["target"]["key"]]
    assert second.config["lambda"] == first.config["lambda"] == 1.0
    assert run(interpolated, tmp_path / "jobs/plain").finished == first.finished
    jobs, left = load_jobs(tmp_path / "jobs")
    assert [j.name for j in jobs] == ["interpolated"]
    assert [line.split(" (")[0] for line in left] == [
        "plain repeats the settings of interpolated, which counts"
    ]
