"""Entries made by ``snnattack.benchmark.evaluate`` (a spikingjelly network trained by the
user) and by a ``run.py`` job launched on a protocol file (and its W&B run), then shown on the
leaderboard; a small protocol of the digits protocol's form keeps them to seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import wandb
from harness import ROOT, read_wandb_run, snapshot

import snnattack
from snnattack.benchmark import leaderboard
from snnattack.benchmark.release import release, sha256_of
from snnattack.errors import UserError
from snnattack.evaluation import attacked
from snnattack.models import build

TINY = """
defaults:
  - config
  - override /method: [fgsm, pgd, ensemble]
  - _self_
eps: [16]
boxes: [white]
seed: 0
eval_batch_size: 32
trainer:
  limit_test_batches: 1
attack:
  eot_samples: 1
  tune:
    val_size: 32
method:
  ensemble:
    components:
      - {attack: stbp, method: apgd, tune: true, params: {steps: 3}}
      - {method: square, params: {n_queries: 20}}
checks:
  masking:
    probe_size: 16
benchmark:
  protocol: tiny
  version: 1
  stochastic_eot: 2
  name: null
  reported: null
hydra:
  callbacks:
    benchmark_entry:
      _target_: snnattack.benchmark.callback.EntryCallback
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny protocol's file, released (its hash recorded)."""
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "tiny_v1.yaml").write_text(TINY)
    release(folder)
    return folder / "tiny_v1.yaml"


@pytest.fixture(scope="module")
def spikingjelly_net():
    """examples/spikingjelly_digits.py's network, trained by its own loop for 2 epochs."""
    pytest.importorskip("spikingjelly")
    import sys

    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from spikingjelly_digits import make_net, train
    finally:
        sys.path.remove(str(ROOT / "examples"))
    from snnattack.data.digits import DigitsDataModule

    data = DigitsDataModule()
    data.setup()
    torch.manual_seed(0)
    net = make_net()
    train(net, data, epochs=2)
    return net


@pytest.mark.slow  # trains a spikingjelly network and runs the protocol: 20 s
def test_a_users_spikingjelly_model_gets_an_entry_and_a_place_on_the_page(
    spikingjelly_net, tiny: Path, tmp_path: Path
) -> None:
    entry = snnattack.benchmark.evaluate(
        spikingjelly_net,
        protocol=tiny,
        name="SJ LIF digits",
        paper="Example et al. 2026",
        training="stbp (spikingjelly)",
        reported={"clean": 99.0, "pgd": 90.0},
        T=4,
        path=tmp_path / "entries" / "sj.json",
    )
    assert json.loads((tmp_path / "entries" / "sj.json").read_text()) == entry
    assert entry["protocol"] == "tiny" and entry["provenance"]["protocol_version"] == 1
    assert entry["n"] == 32 and entry["eps_255"] == [16.0] and entry["data"] == "protocol"
    assert set(entry["robust_acc"]) == {"fgsm", "pgd", "ensemble"}
    assert entry["worst_case"] == min(entry["robust_acc"].values())
    assert entry["gap"] == round(90.0 - entry["worst_case"], 2)
    model = entry["model"]
    assert model["architecture"] == "Sequential"  # its class; a zoo model: its name
    assert model["T"] == 4 and model["training"] == "stbp (spikingjelly)"
    assert model["parameters"] == sum(p.numel() for p in spikingjelly_net.parameters())
    assert entry["provenance"]["weights"].startswith("params:")
    assert entry["clean_acc"] > 50  # trained: the numbers are the model's, not a stub's

    files = leaderboard.write(tmp_path / "entries", tmp_path / "site", tiny.parent)
    row = next(line for line in files["md"].read_text().splitlines() if "SJ LIF" in line)
    assert row.startswith("| 1 | SJ LIF digits |")
    assert f"| {entry['worst_case']:.2f} |" in row and f"| {entry['clean_acc']:.2f} |" in row
    assert f'data-value="{entry["worst_case"]}"' in files["html"].read_text()


@pytest.mark.slow  # trains a spikingjelly network and the protocol's surrogate: 30 s
def test_a_users_network_is_attacked_black_box_from_the_surrogate_at_its_own_T(
    spikingjelly_net, tmp_path: Path
) -> None:
    """``T`` is the user's network's; the protocol's surrogate (an ANN of this project) has its
    own: it was once given the user's ``T`` and refused."""
    folder = tmp_path / "protocols"
    folder.mkdir()
    surrogate = "source_train: ann\nsource_model: digits_net\nsource_T: 4\nsource_lambda: 1.0"
    black = TINY.replace("boxes: [white]", f"boxes: [white, black]\n{surrogate}")
    (folder / "tiny_v1.yaml").write_text(black)
    release(folder)
    entry = snnattack.benchmark.evaluate(
        spikingjelly_net,
        protocol=folder / "tiny_v1.yaml",
        name="SJ black box",
        T=4,
        path=tmp_path / "entries" / "sj.json",
        store=tmp_path / "models",
    )
    assert entry["worst_case"] == min(entry["robust_acc"].values())
    assert json.loads((tmp_path / "entries" / "sj.json").read_text()) == entry


class Noise(torch.nn.Module):
    """Gaussian noise on the input at every forward (a randomised defence)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.05 * torch.randn_like(x)


@pytest.mark.slow  # runs the protocol with EoT on a randomised network: 15 s
def test_a_model_with_a_random_forward_is_attacked_with_eot(
    spikingjelly_net, tiny: Path, tmp_path: Path
) -> None:
    noisy = torch.nn.Sequential(Noise(), *spikingjelly_net)
    entry = snnattack.benchmark.evaluate(
        noisy, protocol=tiny, name="noisy", T=4, path=tmp_path / "noisy" / "noisy.json"
    )
    assert entry["eot_samples"] == 2  # the tiny protocol's stochastic_eot
    assert entry["provenance"]["overrides"] == []  # the protocol's own EoT: ranked as ever
    plain = snnattack.benchmark.evaluate(
        spikingjelly_net, protocol=tiny, name="plain", T=4, path=tmp_path / "plain.json"
    )
    assert plain["eot_samples"] == 1 and plain["provenance"]["overrides"] == []
    (row,) = leaderboard.board(tmp_path / "noisy", tiny.parent)
    assert row.rank == 1 and row.apart == ()


@pytest.mark.slow  # trains a digits model and runs the protocol: 10 s
def test_a_job_on_a_protocol_file_writes_its_entry_beside_metrics(
    cli, tiny: Path, tmp_path: Path, digits_store: Path
) -> None:
    run = cli(
        "-cd",
        str(tiny.parent),
        "-cn",
        "tiny_v1",
        f"store.dir={digits_store}",
        "train.epochs=1",
        "benchmark.name=STBP digits_net",
        "benchmark.reported={clean:99.5,pgd:80}",
        "logger=wandb",
        "tags=[mine]",  # the entry's run carries them as the job's train and attack runs do
        "method.pgd.steps=2",  # a weakened attack: recorded, and the entry ranked apart
        "hydra.run.dir=job",
        env={"WANDB_MODE": "offline"},
    )
    assert run.returncode == 0, run.stderr
    metrics = json.loads((tmp_path / "job" / "metrics.json").read_text())
    entry = json.loads((tmp_path / "job" / "entry.json").read_text())
    assert entry["provenance"]["protocol_sha256"] == sha256_of(tiny)
    assert entry["provenance"]["overrides"] == ["method.pgd.steps=2"]
    (row,) = leaderboard.board(tmp_path / "job", tiny.parent)
    assert row.rank is None and row.apart == ("overridden: method.pgd.steps=2",)
    assert entry["model"]["name"] == "STBP digits_net"
    assert entry["model"]["architecture"] == "digits_net" and entry["model"]["training"] == "stbp"
    assert entry["robust_acc"] == {r["method"]: round(r["adv_acc"], 2) for r in metrics["results"]}
    assert entry["clean_acc"] == round(metrics["clean_acc"], 2) and entry["n"] == 32
    assert entry["provenance"]["weights"].startswith("params:")  # the trained weights
    assert entry["model"]["parameters"] > 0
    assert entry["reported"] == {"clean": 99.5, "pgd": 80}
    assert entry["gap"] == round(80 - entry["worst_case"], 2)

    wandb.teardown()  # the W&B service writes every run file to its end
    runs = [read_wandb_run(f) for f in (tmp_path / "job" / "wandb").glob("offline-run-*")]
    (run,) = [r for r in runs if r["job_type"] == "benchmark"]
    assert run["name"] == "STBP digits_net" and run["group"] == "benchmark/tiny_v1"
    assert run["tags"] == ["mine"]  # were none: a W&B filter on the sweep's tags missed it
    assert (
        run["summary"]["worst_case"] == entry["worst_case"]
        and run["summary"]["gap"] == (entry["gap"])
    )
    table = json.loads((run["folder"] / "files" / run["summary"]["robust_acc.path"]).read_text())
    assert table["data"] == [[k, v] for k, v in entry["robust_acc"].items()]


@pytest.mark.slow  # a digits job, then the same job again (its attacks skipped): 5 s
def test_a_job_whose_entry_cannot_be_made_exits_2_its_results_and_the_old_entry_kept(
    cli, tiny: Path, tmp_path: Path, digits_store: Path
) -> None:
    """An entry refused once the job ran (the folder's entry of the same name holds other
    weights, whose hash is known only then) was a line on stderr and exit 0: a script or a
    scheduler took the job for one with its entry. The run's other ends still run (its
    report is written), then the command exits 2."""
    job = ("-cd", str(tiny.parent), "-cn", "tiny_v1", f"store.dir={digits_store}")
    job += ("train.epochs=1", "benchmark.name=STBP digits_net", "hydra.run.dir=job")
    assert cli(*job).returncode == 0
    folder = tmp_path / "job"
    entry = json.loads((folder / "entry.json").read_text())
    entry["provenance"]["weights"] = "params:" + "0" * 16
    (folder / "entry.json").write_text(json.dumps(entry))
    kept = (folder / "entry.json").read_bytes()
    (folder / "report.md").unlink()
    run = cli(*job)
    assert run.returncode == 2, run.stderr
    path = folder.absolute() / "entry.json"
    assert [line for line in run.stderr.splitlines() if "error" in line] == [
        f"error: no benchmark entry: benchmark.name='STBP digits_net': {path} holds the entry "
        f"of 'STBP digits_net' (weights params:{'0' * 16}, T=4), which this entry would replace; "
        "accepted: another hydra.run.dir (for a sweep another hydra.sweep.dir), or "
        f"{path} removed to replace it"
    ]
    assert (folder / "entry.json").read_bytes() == kept
    assert (folder / "metrics.json").is_file() and (folder / "report.md").is_file()


@pytest.mark.slow  # runs the protocol on a network of the user's code: 10 s
def test_a_job_on_a_network_of_the_users_code_names_its_factory(
    cli, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    run = cli(
        "-cd",
        str(tiny.parent),
        "-cn",
        "tiny_v1",
        "model=external",
        "model.factory._target_=spikingjelly_digits.make_net",
        "T=4",
        "benchmark.name=SJ untrained",
        "hydra.run.dir=job",
    )
    assert run.returncode == 0, run.stderr
    entry = json.loads((tmp_path / "job" / "entry.json").read_text())
    model = entry["model"]
    assert model["architecture"] == "spikingjelly_digits.make_net"
    assert model["training"] == "not stated" and model["T"] == 4
    assert model["parameters"] == 6138  # examples/spikingjelly_digits.py's network
    assert entry["provenance"]["weights"].startswith("params:")  # the factory's own weights


@pytest.mark.slow  # trains the protocol's surrogate for an epoch and runs the protocol: 5 s
def test_train_settings_of_a_job_that_trains_no_model_are_recorded_and_rank_it_apart(
    cli, tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job attacking a network it does not train (``model=external``, as ``checkpoint=``)
    trains only the standard surrogate under ``train.epochs=1``: its transfer rows were
    another surrogate's, and its entry said nothing overridden and was ranked."""
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    methods = TINY[TINY.index("method:\n") : TINY.index("checks:")]
    transfer = (  # fgsm alone, white box and from a digits_net ANN surrogate
        TINY.replace(methods, "")
        .replace("[fgsm, pgd, ensemble]", "[fgsm]")
        .replace("boxes: [white]", "boxes: [white, black]\nsource_train: ann")
        .replace("seed: 0", "seed: 0\nsource_model: digits_net\nsource_T: 4\nsource_lambda: 1.0")
    )
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "tiny_v1.yaml").write_text(transfer)
    release(folder)
    run = cli(
        "-cd",
        str(folder),
        "-cn",
        "tiny_v1",
        f"store.dir={digits_store}",
        "model=external",
        "model.factory._target_=spikingjelly_digits.make_net",
        "T=4",
        "train.epochs=1",
        "benchmark.name=SJ untrained",
        "hydra.run.dir=job",
    )
    assert run.returncode == 0, run.stderr
    assert "overridden (train.epochs=1): its entry is ranked apart" in run.stdout + run.stderr
    entry = json.loads((tmp_path / "job" / "entry.json").read_text())
    assert entry["provenance"]["overrides"] == ["train.epochs=1"]
    assert set(entry["robust_acc"]) == {"fgsm", "fgsm/transfer"}
    (row,) = leaderboard.board(tmp_path / "job", folder)
    assert row.rank is None and row.apart == ("overridden: train.epochs=1",)


@pytest.mark.slow  # runs the protocol three times on one spikingjelly network: 40 s
def test_one_set_of_weights_has_one_hash_however_it_is_submitted(
    cli, spikingjelly_net, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From Python, as a ``checkpoint=`` file of a factory's network, and as the factory's own
    weights (``+model.kwargs.weights=``): one hash, so the leaderboard ranks the weights once;
    the file's entry names the factory (trained elsewhere: its training not stated), and the
    factory runs once per job."""
    (tmp_path / "counted.py").write_text(
        "from spikingjelly_digits import make_net as made\n"
        "CALLS = []\n\n\n"
        "def make_net(**kwargs):\n"
        "    CALLS.append(kwargs)\n"
        "    return made(**kwargs)\n"
    )
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import counted

    file = tmp_path / "sj.pt"
    torch.save(spikingjelly_net.state_dict(), file)
    entries = tmp_path / "entries"
    snnattack.benchmark.evaluate(
        spikingjelly_net, protocol=tiny, name="from Python", T=4, path=entries / "api.json"
    )
    job = ("-cd", str(tiny.parent), "-cn", "tiny_v1", "model=external", "T=4")
    factory = "model.factory._target_=counted.make_net"
    for name, weights in (
        ("file", f"checkpoint={file}"),
        ("kwargs", f"+model.kwargs.weights={file}"),
    ):
        counted.CALLS.clear()
        run = cli(*job, factory, weights, f"benchmark.name={name}", f"hydra.run.dir={name}")
        assert run.returncode == 0, run.stderr
        assert len(counted.CALLS) == 1
        (tmp_path / name / "entry.json").rename(entries / f"{name}.json")
    made = {p.stem: json.loads(p.read_text()) for p in entries.glob("*.json")}
    assert len({e["provenance"]["weights"] for e in made.values()}) == 1
    assert made["file"]["model"]["architecture"] == "counted.make_net"
    assert made["file"]["model"]["training"] == "not stated"
    assert len({e["model"]["parameters"] for e in made.values()}) == 1
    ranked = [row for row in leaderboard.board(entries, tiny.parent) if row.rank is not None]
    assert len(ranked) == 1


@pytest.mark.parametrize(
    "override,line",
    [
        (
            "benchmark.protocol=digitz",
            "error: benchmark.protocol='digitz' is unknown; accepted: tiny (versions 1)",
        ),
        (
            "benchmark.version=2",
            "error: benchmark.protocol='tiny' has no version 2; accepted: 1",
        ),
        (
            "benchmark.reported={pgd10:abc}",
            "error: benchmark.reported={'pgd10': 'abc'} is not the paper's numbers; accepted: "
            "a dict of row names (clean, pgd10, ...) to percentages in [0, 100], or null",
        ),
        (
            "benchmark.reported={clean:0.99,pgd:0.477}",
            "error: benchmark.reported={'clean': 0.99, 'pgd': 0.477} looks like fractions; "
            "accepted: percentages in [0, 100] (90.7 for 90.7 %)",
        ),
        (
            "benchmark.reported={Clean:97}",
            "error: benchmark.reported names Clean, which reads as clean; accepted: clean "
            "(clean, or a row of the protocol by its name: fgsm, pgd, ensemble; another attack "
            "of the paper by its own name)",
        ),
        (
            "~benchmark.name",
            'error: benchmark.name is not set; accepted: benchmark.name="<the model\'s name>"',
        ),
        (  # refused as the job refuses it, without a note that its entry is ranked apart first
            "+method.pgd.foo=1",
            "error: method.pgd.foo=1 is unknown; accepted: steps, alpha, eps_per_alpha, "
            "random_start",
        ),
    ],
)
def test_bad_benchmark_settings_are_refused_before_any_work(
    cli, tiny: Path, tmp_path: Path, override: str, line: str
) -> None:
    run = cli(
        "-cd",
        str(tiny.parent),
        "-cn",
        "tiny_v1",
        f"store.dir={tmp_path / 'models'}",
        "benchmark.name=STBP",
        override,
        "hydra.run.dir=job",
    )
    assert run.returncode == 2 and run.stderr.startswith(line), run.stderr
    assert len(run.stderr.splitlines()) == 1 and "note:" not in run.stdout, run.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["protocols"]  # no job, no model


def test_a_refused_benchmark_job_leaves_no_folder_and_a_finished_jobs_record_as_it_was(
    cli, tiny: Path, tmp_path: Path
) -> None:
    """Refused as it starts, a job on a protocol file left the ``outputs/<date>/`` folder
    Hydra made above its own, and in a finished job's folder (``hydra.run.dir=``) its own
    ``.hydra/`` record in place of that job's; docs/errors.md promises neither."""
    refused = ["-cd", str(tiny.parent), "-cn", "tiny_v1", f"store.dir={tmp_path / 'models'}"]
    run = cli(*refused)
    assert run.returncode == 2 and run.stderr.startswith("error: benchmark.name is not set")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["protocols"]
    finished = tmp_path / "job"
    (finished / ".hydra").mkdir(parents=True)
    (finished / ".hydra" / "overrides.yaml").write_text("- benchmark.name=STBP\n")
    (finished / "metrics.json").write_text("{}")
    run = cli(*refused, "hydra.run.dir=job")
    assert run.returncode == 2, run.stderr
    assert sorted(p.name for p in finished.rglob("*")) == [
        ".hydra",
        "metrics.json",
        "overrides.yaml",
    ]
    assert (finished / ".hydra" / "overrides.yaml").read_text() == "- benchmark.name=STBP\n"


def test_an_unknown_protocol_file_names_the_protocols(cli, tmp_path: Path) -> None:
    run = cli("-cd", str(ROOT / "experiments" / "benchmark"), "-cn", "digitz_v1")
    assert run.returncode == 2
    assert run.stderr == (
        f"error: -cn digitz_v1 is not a config of {ROOT / 'experiments' / 'benchmark'} (did "
        "you mean digits_v1?); accepted: cifar100_linf4_v1, cifar100_linf8_v1, "
        "cifar10_linf4_v1, cifar10_linf8_v1, digits_entries, digits_v1\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # two digits jobs, then the sweep again (its attacks skipped): 20 s
@pytest.mark.parametrize("launcher", [(), ("hydra/launcher=parallel",)], ids=["basic", "joblib"])
def test_a_sweep_on_a_protocol_file_ends_with_its_leaderboard(
    cli, tiny: Path, tmp_path: Path, digits_store: Path, launcher: tuple[str, ...]
) -> None:
    """Relaunched, a job whose entry cannot be made (another entry of its name there) says so
    and the sweep goes on to its leaderboard; the command then exits 2 (it exited 0), under a
    launcher whose jobs run in its workers too."""
    sweep = (
        *launcher,
        "-m",
        "-cd",
        str(tiny.parent),
        "-cn",
        "tiny_v1",
        f"store.dir={digits_store}",
        "train.epochs=1",
        "benchmark.name=STBP lambda ${lambda}",
        "lambda=0.5,1.0",
        "hydra.sweep.dir=sweep",
    )
    run = cli(*sweep)
    assert run.returncode == 0, run.stderr
    entries = [json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").glob("*/entry.json"))]
    assert [e["model"]["name"] for e in entries] == ["STBP lambda 0.5", "STBP lambda 1.0"]
    assert [e["provenance"]["overrides"] for e in entries] == [[], []]  # the model's own keys
    assert [e["model"]["encoding"] for e in entries] == ["direct", "direct"]  # the config's
    page = (tmp_path / "sweep" / "leaderboard.md").read_text()
    for e in entries:
        line = next(x for x in page.splitlines() if e["model"]["name"] in x)
        assert f"| {e['worst_case']:.2f} |" in line
    assert (tmp_path / "sweep" / "leaderboard.html").is_file()

    first = tmp_path / "sweep" / "0" / "entry.json"
    entries[0]["provenance"]["weights"] = "params:" + "0" * 16
    first.write_text(json.dumps(entries[0]))
    (tmp_path / "sweep" / "leaderboard.md").unlink()
    run = cli(*sweep)
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if "error" in line]
    if launcher:  # the job's line is its worker's; the sweep's end names its folder
        assert lines == [
            "error: no benchmark entry: the job 0 of sweep ran and made none "
            "(each said why in its own output: the launcher's workers'); accepted: the fix of "
            "each job's line, then the sweep again (its attacks skipped: their results are there)"
        ]
    else:
        (line,) = lines
        assert line.startswith("error: no benchmark entry: benchmark.name='STBP lambda 0.5': ")
    assert json.loads(first.read_text()) == entries[0]
    assert (tmp_path / "sweep" / "leaderboard.md").is_file()


def refused_sweep(tiny: Path, store: Path, values: str, *launcher: str) -> tuple[str, ...]:
    """A sweep on the tiny protocol over ``lambda=values`` into ``sweep/`` beside the protocol
    folder (by its whole path: joblib's workers, kept from an earlier test, start in its
    folder), each job named by its lambda (``launcher``: Hydra's launcher, the basic one if
    none)."""
    return (
        *launcher,
        "-m",
        "-cd",
        str(tiny.parent),
        "-cn",
        "tiny_v1",
        f"store.dir={store}",
        "train.epochs=1",
        "benchmark.name=STBP lambda ${lambda}",
        f"lambda={values}",
        f"hydra.sweep.dir={tiny.parent.parent / 'sweep'}",
    )


NOT_AN_ENTRY = "holds a file that is not an entry, which this entry would replace; accepted: "


def test_a_sweep_whose_every_job_is_refused_as_it_starts_is_undone(
    cli, tiny: Path, tmp_path: Path
) -> None:
    """A job refused by the benchmark's check as it starts (its folder holds a file that is
    not an entry) ended the whole sweep there (job 1 never ran) and left its ``.hydra/`` and
    ``run.log`` in the folder; each job now refuses it as its own, and a sweep whose every
    job refused is undone: one line, exit 2, the sweep folder as it was."""
    sweep = tmp_path / "sweep"
    for job in ("0", "1"):
        (sweep / job).mkdir(parents=True)
        (sweep / job / "entry.json").write_text("not an entry\n")
    before = snapshot(sweep)
    run = cli(*refused_sweep(tiny, tmp_path / "models", "0.5,1.0"))
    assert run.returncode == 2, run.stderr
    *jobs, line = run.stderr.splitlines()
    assert [x.startswith("error: benchmark.name='STBP lambda ") for x in jobs] == [True, True]
    assert line.startswith("error: job 0 (") and NOT_AN_ENTRY in line, line
    assert "; the sweep wrote nothing: every one of its 2 jobs was refused (refused " in line
    assert snapshot(sweep) == before and sorted(p.name for p in sweep.iterdir()) == ["0", "1"]


@pytest.mark.parametrize(
    "launcher",
    [(), pytest.param(("hydra/launcher=parallel",), marks=pytest.mark.slow)],
    ids=["basic", "joblib"],
)
def test_a_sweep_job_refused_as_it_starts_is_recorded_and_the_others_run(
    cli, tiny: Path, tmp_path: Path, digits_store: Path, launcher: tuple[str, ...]
) -> None:
    """One job of a benchmark sweep refused as it starts no longer stops the sweep: it is
    recorded in ``failures.jsonl``, its folder as it was, the other job runs to its entry,
    and the sweep's summary names the refused job (exit 2), under joblib's launcher too. The
    sweep's leaderboard is the other job's: it read the refused job's file too (the user's,
    not a result) and ended with a second line about it (``no leaderboard: ... not a JSON
    entry``), no page written."""
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "entry.json").write_text("not an entry\n")
    run = cli(*refused_sweep(tiny, digits_store, "0.5,1.0", *launcher))
    assert run.returncode == 2, run.stderr
    assert "1 job(s) of the sweep failed:\n  job 0 (" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot(sweep / "0") == {"entry.json": b"not an entry\n"}
    (failure,) = [json.loads(x) for x in (sweep / "failures.jsonl").read_text().splitlines()]
    assert (failure["job"], failure["folder"], failure["refused"]) == (0, "0", True)
    assert NOT_AN_ENTRY in failure["error"]
    entry = json.loads((sweep / "1" / "entry.json").read_text())
    assert entry["model"]["name"] == "STBP lambda 1.0"
    assert "no leaderboard" not in run.stderr, run.stderr
    page = (sweep / "leaderboard.md").read_text()
    assert "STBP lambda 1.0" in page and "STBP lambda 0.5" not in page


@pytest.mark.parametrize(
    "protocol,message",
    [
        ("imagenet", "protocol='imagenet' is unknown; accepted: cifar100_linf4 (versions 1), "),
        ("digits_v9", "protocol='digits' has no version 9; accepted: 1 (experiments/benchmark/)"),
    ],
)
def test_an_unknown_protocol_or_version_is_refused_before_any_work(protocol, message) -> None:
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(torch.nn.Linear(1, 1), protocol=protocol, name="x")
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"name": ""}, "name='' is not a text; accepted: a non-empty string"),
        ({"name": "x", "paper": 3}, "paper=3 is not a text; accepted: a non-empty string or None"),
        ({"name": "x", "reported": {"pgd": 120}}, "reported={'pgd': 120} is not the paper's"),
        ({"name": "x", "reported": [47.7]}, "reported=[47.7] is not the paper's numbers; accept"),
        (
            {"name": "x", "reported": {"clean": 0.907, "pgd10": 0.477}},
            "reported={'clean': 0.907, 'pgd10': 0.477} looks like fractions; accepted: "
            "percentages in [0, 100] (90.7 for 90.7 %)",
        ),
        ({"name": "x", "path": "."}, "path='.' is a folder; accepted: the entry's file name"),
        (
            {"name": "x", "logger": "wandbb", "path": "e.json"},
            "logger='wandbb' is unknown (did you mean wandb?); accepted: csv, wandb",
        ),
        (  # was 'is unknown', as if a name
            {"name": "x", "logger": ["csv"], "path": "e.json"},
            "logger=['csv'] is not a name; accepted: csv, wandb",
        ),
    ],
)
def test_bad_names_or_reported_numbers_are_refused_before_any_attack(arguments, message) -> None:
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(torch.nn.Linear(1, 1), protocol="digits", **arguments)
    assert str(err.value).startswith(message)


def test_a_model_of_other_classes_is_refused_before_the_surrogate_is_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digits protocol crafts transfer rows on a surrogate trained into ./models: a 5-class
    model is refused first, and nothing is written."""
    monkeypatch.chdir(tmp_path)
    five = build("digits_net", num_classes=5, in_channels=1, T=4, mean=[0.3], std=[0.4])
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(five, protocol="digits", name="five")
    assert str(err.value) == (
        "model=SpikingNet returns 5 classes but the protocol's data (digits) has 10; accepted: "
        "a model of 10 classes"
    )
    assert list(tmp_path.iterdir()) == []


def test_data_without_its_channel_axis_is_refused_by_the_input_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(attacked, "is_random", lambda *a: pytest.fail("the probe ran"))
    net = build("digits_net", num_classes=10, in_channels=1, T=4, mean=[0.3], std=[0.4])
    x, y = torch.rand(200, 8, 8), torch.randint(0, 10, (200,))
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, (x, y), protocol="digits", name="flat")
    line = str(err.value)
    assert line.startswith("model=SpikingNet: its forward on one image of data (shape [1, 8, 8])")
    assert "(images without a channel axis? x.unsqueeze(1); " in line and "\n" not in line
    assert list(tmp_path.iterdir()) == []


def test_the_test_data_as_val_data_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(attacked, "is_random", lambda *a: pytest.fail("the probe ran"))
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    x, y = torch.rand(200, 1, 8, 8), torch.randint(0, 10, (200,))
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, (x, y), protocol="digits", name="own", val_data=(x, y))
    assert str(err.value).startswith("val_data is the test data (data); accepted: held-out")
    assert list(tmp_path.iterdir()) == []


def test_a_model_that_does_not_take_the_protocols_images_is_refused_before_a_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CIFAR-10 protocol reads (downloads) CIFAR-10 into ./data: a digits model is refused
    on a blank image of its shape first."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SNNATTACK_DATA", raising=False)
    net = build("digits_net", num_classes=10, in_channels=1, T=4, mean=[0.3], std=[0.4])
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol="cifar10_linf8", name="digits on cifar")
    assert str(err.value).startswith(
        "model=SpikingNet: its forward on one image of the protocol's data (cifar10) (shape "
        "[1, 3, 32, 32]) raised"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a digits job: 10 s
def test_a_job_on_a_protocol_file_edited_after_its_release_is_ranked_apart(
    cli, tiny: Path, tmp_path: Path, digits_store: Path
) -> None:
    """The issue's case: a released file edited locally (here: one attack fewer), still named
    tiny_v1, runs and writes its entry, which records the file's hash and is listed apart."""
    tiny.write_text(TINY.replace("[fgsm, pgd, ensemble]", "[pgd, ensemble]"))
    run = cli(
        "-cd",
        str(tiny.parent),
        "-cn",
        "tiny_v1",
        f"store.dir={digits_store}",
        "train.epochs=1",
        "benchmark.name=weakened",
        "hydra.run.dir=job",
    )
    assert run.returncode == 0, run.stderr
    assert "is not a released protocol file: its entry is ranked apart" in run.stdout + run.stderr
    entry = json.loads((tmp_path / "job" / "entry.json").read_text())
    assert entry["provenance"]["protocol_sha256"] == sha256_of(tiny)
    assert entry["provenance"]["overrides"] == []  # the file itself says fewer attacks
    (row,) = leaderboard.board(tmp_path / "job", tiny.parent)
    assert row.rank is None and row.apart[0].startswith("its protocol file is not the released")


class OwnLoop(torch.nn.Module):
    """A spikingjelly tutorial-shaped class: the image repeated over T in its own forward."""

    def __init__(self, classes: int, T: int = 4) -> None:
        super().__init__()
        from spikingjelly.activation_based import functional, layer, neuron

        self.T = T
        self.body = torch.nn.Sequential(layer.Flatten(), layer.Linear(64, classes), neuron.IFNode())
        functional.set_step_mode(self, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)).mean(0)


def test_a_users_own_loop_class_is_probed_on_the_protocols_blank_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The class's form is decided by running it on a blank image of the protocol's shape,
    before the data are read: a 5-class one reaches the class check (not a refusal asking
    for own_loop=), and nothing is written."""
    pytest.importorskip("spikingjelly")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(OwnLoop(5), T=4, protocol="digits", name="own loop")
    assert str(err.value).startswith("model=OwnLoop returns 5 classes but the protocol's data")
    assert list(tmp_path.iterdir()) == []


class TutorialNet(torch.nn.Module):
    """snnTorch's tutorial network: its own loop of single steps, spikes and membranes out."""

    def __init__(self, steps: int = 4) -> None:
        super().__init__()
        import snntorch

        self.steps = steps
        self.fc1, self.lif1 = torch.nn.Linear(64, 32), snntorch.Leaky(beta=0.9)
        self.fc2, self.lif2 = torch.nn.Linear(32, 10), snntorch.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spikes, membranes = [], []
        for _ in range(self.steps):
            spk1, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spikes.append(spk2)
            membranes.append(mem2)
        return torch.stack(spikes), torch.stack(membranes)


def test_a_per_step_loop_is_refused_before_the_standard_surrogate_is_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protocol's RGA rows need each neuron's T steps in one call: refused before the
    black box's surrogate is trained (a VGG-11 on CIFAR), and nothing is written."""
    pytest.importorskip("snntorch")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(TutorialNet(), T=4, protocol="digits", name="snnTorch")
    assert str(err.value).startswith(
        "method=ensemble's components apgd/rga, apgd/hart, sapgd/rga, sapgd/hart: gradient "
        "mode 'rga' needs each neuron's whole T steps"
    )
    assert list(tmp_path.iterdir()) == []
