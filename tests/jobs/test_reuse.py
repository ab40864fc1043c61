"""attack.reuse: a sweep computes each row once, in any process (a sweep over attack= its
ensemble and Square rows, twin jobs every row), and the copies equal the rows a job computes
afresh."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import QUIET, ROOT, cli, compose, edited_component_file, resolved, sweep_metrics

from snnattack.attacks import tuning
from snnattack.attacks.parse import attack_specs, component_settings
from snnattack.errors import FinishedElsewhere
from snnattack.evaluation import reuse
from snnattack.job import finished
from snnattack.models import build
from snnattack.records import provenance
from snnattack.records.results import (
    SCHEMA,
    complete_record,
    read_record,
    result_spec,
    write_json,
)
from snnattack.records.store import spec_key
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key

QUICK_JOB = [*QUIET, "train.epochs=1", "eps=[32]"]
SMALL = [*QUICK_JOB, "method=[fgsm,square]", "method.square.n_queries=30"]
MEASURED = ("asr", "adv_acc", "n", "n_correct", "linf", "l2", "queries")


def rows(metrics: dict) -> dict[tuple[str, str], dict]:
    return {(r["method"], r["box"]): r for r in metrics["results"]}


def sweep(tmp: Path, folder: str, *overrides: str) -> list[dict]:
    done = cli(
        "-m",
        *SMALL,
        f"store.dir={tmp}/models",
        f"hydra.sweep.dir={tmp}/{folder}",
        *overrides,
        cwd=tmp,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return sweep_metrics(tmp / folder)


@pytest.mark.slow
def test_a_sweep_over_attack_reuses_square_rows_which_equal_a_fresh_computation(
    tmp_path: Path,
) -> None:
    # standard training reads no adversary: each attack= job has a twin with the same models
    first, twin, second, second_twin = sweep(
        tmp_path, "sweep", "attack=stbp,rga", "train.adversary.grad_mode=stbp,rga"
    )
    for box in ("white", "black"):
        assert rows(first)[("square", box)]["reused_from"] is None
        assert rows(second)[("fgsm", box)]["reused_from"] is None  # it reads the gradient mode
        copied = rows(second)[("square", box)]
        assert copied["reused_from"] == "0"
        assert {k: copied[k] for k in MEASURED} == {
            k: rows(first)[("square", box)][k] for k in MEASURED
        }
        for method in ("fgsm", "square"):  # a twin copies every row, gradient ones included
            assert rows(twin)[(method, box)] == {
                **rows(first)[(method, box)],
                "reused_from": "0",
            }
        assert rows(second_twin)[("fgsm", box)]["reused_from"] == "2"
        assert rows(second_twin)[("fgsm", box)]["asr"] == rows(second)[("fgsm", box)]["asr"]
    assert rows(second)[("fgsm", "white")]["grad_mode"] == "rga"

    # without reuse every job computes every row; the copies equal these fresh rows
    off = sweep(tmp_path, "off", "attack=stbp,rga", "attack.reuse=false")
    assert all(r["reused_from"] is None for m in off for r in m["results"])
    for fresh, kept in zip(off, (first, second), strict=True):
        for key, row in rows(kept).items():
            assert {k: rows(fresh)[key][k] for k in MEASURED} == {k: row[k] for k in MEASURED}


@pytest.mark.slow
def test_a_kept_row_of_wrong_types_is_computed_again_with_a_warning_naming_its_file(
    tmp_path: Path,
) -> None:
    (first,) = sweep(tmp_path, "sweep", "attack=stbp")
    kept = sorted((tmp_path / "sweep" / reuse.FOLDER).glob("*.json"))
    square = [p for p in kept if json.loads(p.read_text())["method"] == "square"]
    for path in kept:  # every field present, as written, but the rates as strings
        row = json.loads(path.read_text())
        path.write_text(json.dumps({**row, "asr": str(row["asr"]), "adv_acc": "x"}))
    done = cli(
        "-m",
        *SMALL,
        "attack=bptr",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        "hydra.sweep.subdir=bptr",  # a value added to the sweep: its own folder, the same rows
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    again = json.loads((tmp_path / "sweep" / "bptr" / "metrics.json").read_text())
    assert all(r["reused_from"] is None for r in again["results"])
    for box in ("white", "black"):  # the same numbers as the first computation
        fresh, before = rows(again)[("square", box)], rows(first)[("square", box)]
        assert {k: fresh[k] for k in MEASURED} == {k: before[k] for k in MEASURED}
    log = done.stdout + done.stderr
    assert len(square) == 2  # the rows the bptr job would copy, white and black box
    for path in square:
        assert f"kept row {path} is unusable (its asr='" in log
        assert json.loads(path.read_text())["adv_acc"] != "x"  # replaced by the new row


def model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build("digits_net", num_classes=10, in_channels=1, T=2)


@pytest.mark.slow
def test_row_keys_ignore_the_gradient_mode_only_where_the_row_does() -> None:
    def keys(
        *overrides: str, seed: int = 0, world_size: int = 1, source: int | torch.nn.Module = 1
    ) -> dict[int, str]:
        cfg = compose("method=[fgsm,square,ensemble]", *overrides)
        stored = {
            "target": {"key": spec_key(store_key(model_settings(cfg), cfg.seed))},
            "source": None,
        }
        tree, specs = resolved(cfg), attack_specs(cfg)
        spec = result_spec(tree, component_settings(specs))
        crafter = model(source) if isinstance(source, int) else source
        return reuse.row_keys(tree, spec, specs, stored, model(seed), crafter, world_size)

    def without_fgsm(found: dict[int, str]) -> dict[int, str]:
        return {i: k for i, k in found.items() if specs[i].method != "fgsm"}

    base = keys()
    specs = attack_specs(compose("method=[fgsm,square,ensemble]"))
    assert len(base) == len(specs)  # every row has a key
    for mode in (keys("attack=rga", "attack.params.beta=3"), keys("attack=hart")):
        assert without_fgsm(mode) == without_fgsm(base)  # ensemble and Square ignore the mode
        assert not {mode[i] for i in mode if specs[i].method == "fgsm"} & set(base.values())
    assert keys("tags=[x]") == base  # a cosmetic key
    # lambda=1 written through the per-kind lookups, which no job reads: the same rows
    assert keys("+kinds.l=1", "lambda=${kinds.l}") == keys("lambda=1")
    # an ANN source crafts by autograd whatever attack= says: its rows are copied across it
    ann = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    on_ann, rga_on_ann = keys(source=ann), keys("attack=rga", source=ann)
    black_fgsm = [
        i for i, spec in enumerate(specs) if spec.box == "black" and spec.method == "fgsm"
    ]
    assert black_fgsm and all(on_ann[i] == rga_on_ann[i] for i in black_fgsm)
    # nor does it read attack.time_extension (it has no time steps): every black-box row is
    # copied across it, while the spiking target's rows read it
    extended = keys("attack.time_extension=2", source=ann)
    black = [i for i, spec in enumerate(specs) if spec.box == "black"]
    assert all(extended[i] == on_ann[i] for i in black)
    assert not {extended[i] for i in extended if i not in black} & set(on_ann.values())
    # another source: the target's white-box rows are its rows still
    white = {i for i, spec in enumerate(specs) if spec.box == "white"}
    for other in (keys(source=2), keys("source_lambda=0.5"), keys("source_train=ann")):
        assert {i: other[i] for i in white} == {i: base[i] for i in white}
        assert not {other[i] for i in other if i not in white} & set(base.values())
    # another method's setting: only that method's rows are computed again
    square = keys("method.square.n_queries=20")
    assert {i: k for i, k in square.items() if specs[i].method != "square"} == {
        i: k for i, k in base.items() if specs[i].method != "square"
    }
    assert not {square[i] for i in square if specs[i].method == "square"} & set(base.values())
    for how in (
        "neuron_impl=unrolled",
        "backend=torch",
        "compile=true",
        "threads=2",
        "deterministic=false",
    ):
        assert not set(keys(how).values()) & set(base.values())
    assert keys("train.adversary.grad_mode=rga") == base  # standard training reads no adversary
    pgd = keys("train.adversary.method=pgd")
    assert keys("train.adversary.method=pgd", "train.adversary.grad_mode=rga") != pgd != base
    for changed in (keys("seed=1"), keys("eps=[8]"), keys("lambda=0.5"), keys(seed=1)):
        assert not set(changed.values()) & set(base.values())
    assert keys("attack.reuse=false") == {}
    assert keys("attack.save_examples=true") == {}
    assert keys(world_size=2) == {}


def white_keys(cfg: Any, target: torch.nn.Module) -> dict[int, str]:
    """The keys of the white-box rows of ``cfg`` on ``target``, a model from no store."""
    tree, specs = resolved(cfg), attack_specs(cfg)
    spec = result_spec(tree, component_settings(specs))
    return reuse.row_keys(tree, spec, specs, {"target": None, "source": None}, target, None, 1)


def test_an_edit_of_a_components_method_file_gives_the_ensemble_jobs_rows_new_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ensemble's components run with their methods' files' parameters, which its config
    does not hold: after an edit of ``conf/method/apgd.yaml`` a later job of the sweep (or a
    relaunch) computes the ensemble's row again rather than copying the stale one."""
    cfg = compose("method=[ensemble_quick]", "eps=[8]", "boxes=[white]")
    torch.manual_seed(0)
    target = torch.nn.Linear(2, 2)

    before = white_keys(cfg, target)
    assert before and white_keys(cfg, target) == before
    edited_component_file(monkeypatch, tmp_path / "conf", "method", "apgd", "rho: 0.75", "rho: 0.5")
    after = white_keys(cfg, target)
    assert after.keys() == before.keys() and not set(after.values()) & set(before.values())


def test_a_reused_ensemble_row_keeps_its_tuned_components_and_skips_their_tuning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches = []
    best_point = tuning.best_point
    monkeypatch.setattr(tuning, "best_point", lambda *a: searches.append(1) or best_point(*a))
    tuned = [
        "method=[ensemble]",
        "method.ensemble.components=[{attack: hart, method: fgsm, tune: true},"
        "{method: square, params: {n_queries: 30}}]",
        "attack.tune.grids.hart.gamma.step=1.175",  # γ ∈ {0.10, 1.275, 2.45}
        "attack.tune.val_size=20",
    ]
    done = cli(
        "-m",
        *QUICK_JOB,
        *tuned,
        "boxes=[white]",
        "attack=stbp,bptr",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = (m["results"] for m in sweep_metrics(tmp_path / "sweep"))
    (computed,), (copied,) = first, second
    assert computed["reused_from"] is None and copied["reused_from"] == "0"
    assert copied["components"] == computed["components"]
    assert copied["components"][0]["grad_params"]["gamma"] in (0.1, 1.275, 2.45)  # tuned in job 0
    tuned = copied["components"][0]["tuned"]
    assert tuned["params"] == copied["components"][0]["grad_params"] and tuned["val_n"] == 20
    assert copied["components"][1]["tuned"] is None  # Square: not asked
    assert len(searches) == 1  # job 0 tuned the one tunable component; job 1 copied it
    log = done.stdout + done.stderr
    assert f"reused row ensemble/white/eps32 from {tmp_path / 'sweep' / '0'}" in log


@pytest.mark.slow  # jobs in processes of their own: about 7 s
def test_jobs_of_a_sweep_in_other_processes_or_relaunches_share_rows_through_its_folder(
    tmp_path: Path,
) -> None:
    def job(mode: str) -> dict:
        done = cli(
            "-m",
            *SMALL,
            f"attack={mode}",
            "hydra.sweep.subdir=${attack.grad_mode}",
            f"store.dir={tmp_path}/models",
            f"hydra.sweep.dir={tmp_path}/sweep",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((tmp_path / "sweep" / mode / "metrics.json").read_text())

    first = job("stbp")
    later = job("rga")  # as another process of the sweep, or a relaunch, would
    copied = rows(later)[("square", "white")]
    assert copied["reused_from"] == "stbp"
    assert copied["asr"] == rows(first)[("square", "white")]["asr"]

    kept = sorted((tmp_path / "sweep" / reuse.FOLDER).glob("*.json"))
    assert len(kept) == 6  # square, and fgsm per gradient mode, white and black box
    for path in kept:
        path.write_text('{"method": "squ')  # half written: read as absent
    again = job("bptr")
    assert all(r["reused_from"] is None for r in again["results"])
    assert rows(again)[("square", "white")]["asr"] == copied["asr"]


@pytest.mark.slow
def test_a_sweep_over_another_methods_settings_copies_an_event_row_with_its_worst_case(
    tmp_path: Path,
) -> None:
    """The worst case over a box's event attacks takes each of their samples: a job that
    copies the box's event rows copies it too (it had none: its worst case was over the rows it
    computed)."""
    done = cli(
        "-m",
        *QUICK_JOB,
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        "dataset=digits_events",
        "method=[sda,pgd]",
        "method.pgd.steps=1,2",
        "method.sda.n_iter=3",
        "boxes=[white]",
        "trainer.limit_test_batches=1",
        "checks.masking.enabled=false",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = sweep_metrics(tmp_path / "sweep")
    assert rows(second)[("sda", "white")]["reused_from"] == "0"
    assert rows(second)[("pgd", "white")]["reused_from"] is None
    computed = first["event_worst_case"]["white"]
    assert computed["methods"] == ["sda/white/eps0"] and "reused_from" not in computed
    assert second["event_worst_case"] == {"white": {**computed, "reused_from": "0"}}


@pytest.mark.slow
def test_a_job_listing_its_rows_in_another_order_copies_them_equal_to_a_fresh_computation(
    tmp_path: Path,
) -> None:
    """A row's draws derive from its name, not its position (``row_seed``): a job listing the
    event rows in another order copies them with their worst case (before, the worst case was
    kept under its rows' keys in their order, so the second job computed every event row of
    the box again), and the copies equal the rows a job of that order computes afresh."""
    common = [
        *QUICK_JOB,
        f"store.dir={tmp_path}/models",
        "dataset=digits_events",
        "method.retime.steps=3",
        "boxes=[white]",
        "trainer.limit_test_batches=1",
        "checks.masking.enabled=false",
    ]
    done = cli(
        "-m",
        *common,
        f"hydra.sweep.dir={tmp_path}/sweep",
        "method=[sda,retime,fgsm],[retime,sda,fgsm,pgd]",  # fgsm after sda, then before
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = sweep_metrics(tmp_path / "sweep")
    assert [r["method"] for r in second["results"]] == ["retime", "sda", "fgsm", "pgd"]
    assert [r["reused_from"] for r in second["results"]] == ["0", "0", "0", None]
    worst = second["event_worst_case"]["white"]
    assert worst["reused_from"] == "0"
    assert worst["methods"] == ["retime/white/eps0", "sda/white/eps0"]  # this job's order
    fresh = cli(
        *common,
        f"hydra.run.dir={tmp_path}/fresh",
        "method=[retime,sda,fgsm,pgd]",
        "attack.reuse=false",
        cwd=tmp_path,
    )
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    computed = json.loads((tmp_path / "fresh" / "metrics.json").read_text())
    measured = (*MEASURED, "l0_hist", "l0_mean", "retiming")
    for copy, row in zip(second["results"], computed["results"], strict=True):
        assert {k: copy[k] for k in measured} == {k: row[k] for k in measured}
    assert {k: v for k, v in worst.items() if k != "reused_from"} == computed["event_worst_case"][
        "white"
    ]


def test_rows_of_other_code_are_computed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relaunch after a commit (or with another version of the package or of torch) copied
    the rows an earlier commit computed into a record of the new one: they hold the code."""
    cfg = compose("method=[fgsm]", "eps=[8]", "boxes=[white]")
    torch.manual_seed(0)
    target = torch.nn.Linear(2, 2)

    before = white_keys(cfg, target)
    assert before and white_keys(cfg, target) == before
    for key, other in (("LOADED_COMMIT", "0" * 40), ("__version__", "0.0.0")):
        with monkeypatch.context() as m:
            m.setattr(provenance, key, other)
            after = white_keys(cfg, target)
        assert after.keys() == before.keys() and not set(after.values()) & set(before.values())


@pytest.mark.slow
@pytest.mark.parametrize("earlier", ["removed", "stopped"])
def test_a_relaunch_of_another_list_skips_a_job_finished_in_another_folder(
    tmp_path: Path, earlier: str
) -> None:
    """A value removed from the list numbers the later jobs' folders anew: lambda=1.0,
    finished in sweep/2, is job 1 of the relaunch, in sweep/1. Where sweep/1 held a stopped
    job of lambda=0.7 (its Hydra files and log), it stays as it was: the skip removed it."""

    def launch(*overrides: str) -> str:
        done = cli(
            "-m",
            *QUIET,
            "train.epochs=1",
            "method=[fgsm]",
            "trainer.limit_test_batches=1",
            "eps=[8]",
            f"store.dir={tmp_path}/models",
            *overrides,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout + done.stderr

    into = f"hydra.sweep.dir={tmp_path}/sweep"
    launch(into, "lambda=0.5,0.7,1.0")
    stopped = tmp_path / "sweep" / "1"  # the job of lambda=0.7
    if earlier == "removed":  # refused, or removed by the user
        shutil.rmtree(stopped)
    else:  # stopped before its results: what Hydra wrote, and its log
        for path in stopped.iterdir():
            if path.name != ".hydra" and path.suffix != ".log":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    held = {p: p.read_bytes() for p in stopped.rglob("*") if p.is_file()}
    finished = (tmp_path / "sweep" / "2" / "metrics.json").read_bytes()
    out = launch(into, "lambda=0.5,1.0")
    assert f"{tmp_path / 'sweep' / '2'} holds this job's finished results: skipping" in out
    # no second folder of lambda=1.0; the stopped job's as it was
    assert {p: p.read_bytes() for p in stopped.rglob("*") if p.is_file()} == held
    assert stopped.exists() is (earlier == "stopped")
    assert (tmp_path / "sweep" / "2" / "metrics.json").read_bytes() == finished
    jobs = [line.split("│")[1].strip() for line in out.splitlines() if "lambda=1.0 │" in line]
    assert jobs == ["2", "2"]  # the console's table: its rows once, white and black box
    # a sweep over a key that compares speed (threads): each job runs in its own folder
    launch(f"hydra.sweep.dir={tmp_path}/speed", "lambda=1.0", "threads=1,2")
    assert len(list((tmp_path / "speed").glob("*/metrics.json"))) == 2


SCHEMA1 = ROOT / "tests" / "data" / "metrics_schema1.json"  # a record of 8 rows


def sweep_of(folder: Path, lambdas: dict[str, float]) -> dict[str, Any]:
    """A sweep folder of finished jobs (by subfolder, each of ``lambdas``'s value of
    ``lambda``) as a job writes their records; the config of the ``lambda=0.5`` job."""
    record = read_record(SCHEMA1)
    record.schema = SCHEMA
    record.result_spec = {"seed": 0}
    config = {"seed": 0, "threads": 1, "lambda": 0.5, "paths": {"name": "digits"}}
    for job, value in lambdas.items():
        record.config = {**config, "lambda": value}
        write_json(folder / job / "metrics.json", record.to_json())
    return config


def test_a_relaunch_in_another_order_skips_a_job_whose_folder_holds_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-m lambda=1.0,0.5`` relaunched into the folder of ``-m lambda=0.5,1.0`` numbers its
    jobs the other way round: each job's folder holds the other's finished results, and its
    own are in the other folder. It was refused as replacing another job (``sweep/1 holds the
    finished job of other settings ...; accepted: ... or sweep/1/metrics.json removed``, the
    other job's results): now skipped, as a relaunch of another list is."""
    sweep = tmp_path / "sweep"
    config = sweep_of(sweep, {"0": 0.5})
    other = read_record(sweep / "0" / "metrics.json")
    other.config, other.result_spec = {**config, "lambda": 1.0}, {"seed": 0, "lambda": 1.0}
    write_json(sweep / "1" / "metrics.json", other.to_json())
    monkeypatch.setattr(reuse, "sweep_folder", lambda: sweep)
    with pytest.raises(FinishedElsewhere) as skipped:
        finished(sweep / "1", config, {"seed": 0}, 8, {})
    assert skipped.value.folder == sweep / "0"


def test_a_relaunch_builds_no_record_of_a_folder_whose_config_is_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relaunch's check of its sweep folder (``finished_in_sweep``) built every job's record
    in full, 0.5 s a job in a folder of 1,000 (docs/performance.md); a record whose config
    differs is ruled out before its record is built, and the one folder that holds the job
    is found."""
    sweep = tmp_path / "sweep"
    config = sweep_of(sweep, {str(i): 0.1 * i + 0.01 for i in range(12)} | {"12": 0.5})
    monkeypatch.setattr(reuse, "sweep_folder", lambda: sweep)
    built: list[Path] = []

    def counted(path: Path, *args: Any) -> Any:
        built.append(path)
        return complete_record(path, *args)

    monkeypatch.setattr(reuse, "complete_record", counted)
    found = reuse.finished_in_sweep(sweep / "13", config, {"seed": 0}, 8, {})
    assert found == sweep / "12" and built == [sweep / "12" / "metrics.json"]
    built.clear()
    for other in ({"lambda": 0.55}, {"threads": 2}, {"paths": {"name": "cifar10"}}):
        assert reuse.finished_in_sweep(sweep / "13", config | other, {"seed": 0}, 8, {}) is None
    assert built == []


def hostile(text: str, config: dict[str, Any]) -> dict[str, str | bytes]:
    """Texts of the finished record ``text`` (of ``config``) written otherwise, and damaged
    or foreign ones, by name."""
    raw = json.loads(text)
    other = {**config, "lambda": 0.7}
    nested = {**raw, "models": {**raw["models"], "config": config}}
    del nested["config"]
    nested_text = json.dumps(nested, indent=2).replace('\n    "config": ', '\n  "config": ')
    return {
        "as written": text,
        "minified": json.dumps(raw),
        "keys in another order": json.dumps(
            {**raw, "config": dict(reversed(config.items()))}, indent=2
        ),
        # json keeps a key's last value: a second config key, spelt alike or escaped
        "a later config key": text[:-2] + f',\n"config": {json.dumps(config)}\n}}',
        "an earlier config key": json.dumps({"config": other}, indent=2)[:-2] + "," + text[1:],
        "a later escaped config key": json.dumps({**raw, "config": other}, indent=2)[:-2]
        + f',\n"\\u0063onfig": {json.dumps(config)}\n}}',
        "the config spaced otherwise": text.replace('"config": ', '"config":  '),
        "CRLF line ends": text.replace("\n", "\r\n"),
        "not ASCII": json.dumps({**raw, "notes": ["λ=0.5"]}, indent=2, ensure_ascii=False),
        "the key's spelling nested": nested_text,
        "another config": json.dumps({**raw, "config": other}, indent=2),
        "an int for a float": json.dumps({**raw, "config": {**config, "lambda": 1}}, indent=2),
        "truncated": text[: len(text) // 2],
        "not UTF-8": text.encode() + b"\xff",
        "a newer schema": json.dumps({**raw, "schema": 99}, indent=2),
        "a list": "[1, 2]",
        "empty": "",
    }


# the texts of hostile() whose record is the finished job's
FOUND = {
    "as written",
    "minified",
    "keys in another order",
    "a later config key",
    "an earlier config key",
    "a later escaped config key",
    "the config spaced otherwise",
    "CRLF line ends",
    "not ASCII",
}


@pytest.mark.parametrize("lam", [1.0, float("nan")])
def test_a_relaunch_finds_a_finished_job_in_any_text_as_the_full_check_of_every_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lam: float
) -> None:
    """The config that rules a folder out decides as the full check of its record: each text
    of the finished job (re-indented, keys reordered, a second config key, escaped) is found,
    and no damaged or foreign one, and neither a config key nested at the top level's indent
    (the record's config is then the default {}). A config holding NaN is compared in full."""
    sweep = tmp_path / "sweep"
    config = {**sweep_of(sweep, {"0": lam}), "lambda": lam}
    monkeypatch.setattr(reuse, "sweep_folder", lambda: sweep)
    path = sweep / "0" / "metrics.json"
    texts = hostile(path.read_text(), config)

    def check() -> Path | None:
        return reuse.finished_in_sweep(sweep / "1", config, {"seed": 0}, 8, {})

    for name, text in texts.items():
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
        found = check()
        with monkeypatch.context() as m:  # every record built in full, as before
            m.setattr(reuse, "_not_of_config", lambda *_: False)
            assert found == check(), name
        assert (found == sweep / "0") is (name in FOUND), name


def test_a_rows_key_holds_its_radius_and_box_not_the_jobs_other_radii_and_boxes() -> None:
    """A row's draws derive from its name (``row_seed``), not from the job's other rows: the
    16/255 white-box row of ``eps=[8,16]`` is that of ``eps=[16]`` and of
    ``boxes=[black,white]``, so a sweep over those lists copies it (its key held the lists,
    and the sweep computed the row again); a row of another radius keeps a key of its own."""
    torch.manual_seed(0)
    target = torch.nn.Linear(2, 2)

    def named(*overrides: str) -> dict[str, str]:
        """The white-box rows' keys of ``method=[fgsm,pgd]`` with ``overrides``, by name."""
        cfg = compose("method=[fgsm,pgd]", *overrides)
        specs = attack_specs(cfg)
        return {
            specs[i].name: k for i, k in white_keys(cfg, target).items() if specs[i].box == "white"
        }

    one = named("eps=[16]", "boxes=[white]")
    two = named("eps=[8,16]", "boxes=[white]")
    both = named("eps=[16,8]", "boxes=[black,white]")
    assert set(one) == {"fgsm/white/eps16", "pgd/white/eps16"}
    assert {n: two[n] for n in one} == one == {n: both[n] for n in one}
    assert len(set(two.values())) == len(two) == 4  # each radius a row of its own
    # a radius the name spells alike (16/255 to 6 digits) is another row still
    close = named("eps=[16.0000001]", "boxes=[white]")
    assert close.keys() == one.keys() and not set(close.values()) & set(one.values())


@pytest.mark.slow
def test_a_sweep_over_the_radii_copies_the_rows_they_share_as_a_fresh_job_computes_them(
    tmp_path: Path,
) -> None:
    """``eps=[32],[16,32]``: the second job copies the first's 32/255 rows (PGD's random start
    among them) and computes its 16/255 rows; the copies equal that job's rows computed afresh
    (``attack.reuse=false``)."""

    def radii(folder: str, *overrides: str) -> list[dict]:
        done = cli(
            "-m",
            *QUIET,
            "train.epochs=1",
            "trainer.limit_test_batches=1",
            "checks.masking.enabled=false",
            "method=[fgsm,pgd]",
            "method.pgd.steps=2",
            "eps=[32],[16,32]",
            f"store.dir={tmp_path}/models",
            f"hydra.sweep.dir={tmp_path}/{folder}",
            *overrides,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return sweep_metrics(tmp_path / folder)

    one, two = radii("sweep")
    _, fresh = radii("off", "attack.reuse=false")
    assert len(one["results"]) == 4 and all(r["reused_from"] is None for r in one["results"])
    for row, again in zip(two["results"], fresh["results"], strict=True):
        assert again["reused_from"] is None
        assert row["reused_from"] == ("0" if row["eps_255"] == 32 else None)
        assert {**row, "reused_from": None} == again


def test_a_rows_key_holds_the_draws_it_averages_not_the_jobs() -> None:
    """Under a random encoding an ensemble's components average ``poisson_eot_samples`` draws
    (8) whatever ``attack.eot_samples`` below it says, and Square averages none: a sweep over
    ``attack.eot_samples=1,4`` copies those rows (their keys held the job's draws, and the sweep
    computed identical rows again), while FGSM's, which averages the job's draws, and an
    ensemble's above 8 draws are computed again."""
    torch.manual_seed(0)
    target = torch.nn.Linear(2, 2)

    def named(*overrides: str) -> dict[str, str]:
        cfg = compose("method=[fgsm,square,ensemble_quick]", "encoding=poisson", *overrides)
        specs = attack_specs(cfg)
        return {specs[i].name: k for i, k in white_keys(cfg, target).items()}

    one, four, many = (named(f"attack.eot_samples={n}") for n in (1, 4, 12))
    for name in one:
        assert (one[name] == four[name]) == (not name.startswith("fgsm")), name
        assert (one[name] == many[name]) == name.startswith("square"), name


def test_a_rows_key_leaves_the_analyses_out() -> None:
    """The analyses run after every row and rows read none of their settings: a row's key is
    the same whatever ``analysis`` selects or sets (it held the block, and a sweep over
    ``analysis=`` computed every row again)."""
    torch.manual_seed(0)
    target = torch.nn.Linear(2, 2)
    plain = white_keys(compose("method=[fgsm]"), target)
    for chosen in (
        ["analysis=[shuffle]"],
        ["analysis=[cost]"],
        ["analysis=[shuffle]", "analysis.shuffle.seed=3"],
    ):
        assert white_keys(compose("method=[fgsm]", *chosen), target) == plain


def test_a_sweep_over_the_analyses_copies_every_row_of_its_second_job(tmp_path: Path) -> None:
    """``analysis=[shuffle],[cost]``: the second job copies the first's rows, and computes
    its own analysis."""
    done = cli(
        "-m",
        *QUICK_JOB,
        "trainer.limit_test_batches=1",
        "checks.masking.enabled=false",
        "method=[fgsm]",
        "analysis=[shuffle],[cost]",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = sweep_metrics(tmp_path / "sweep")
    assert all(r["reused_from"] is None for r in first["results"])
    assert [r["reused_from"] for r in second["results"]] == ["0"] * len(first["results"])
    assert set(first["analyses"]) == {"shuffle"} and set(second["analyses"]) == {"cost"}
