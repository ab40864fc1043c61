"""``model=external``: the user's factory builds the attacked model, with every job feature."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import wandb
from harness import compose, job_checks

from snnattack.errors import ConfigError, UserError
from snnattack.records.store import ModelStore
from snnattack.snn.neurons import LIF
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key
from snnattack.training.trained import build_model, trained_model

EXTERNAL = ["model=external", "model.factory._target_=external_nets.digits_net"]
TRAINED = ["train.epochs=4"]  # the session's shared digits model (tests/fixtures_digits.py)


@pytest.fixture(scope="module")
def weights(request: pytest.FixtureRequest) -> Path:
    """The store file of the session's 4-epoch digits SNN."""
    store = request.getfixturevalue("digits_store")
    cfg = compose(*TRAINED, f"store.dir={store}", "trainer.enable_progress_bar=false")
    trained_model(model_settings(cfg), 0, ModelStore(store), [])
    return ModelStore(store).path(store_key(model_settings(cfg), 0)) / "model.pt"


def test_an_external_model_with_a_checkpoint_gives_the_native_jobs_rows(run_job, weights) -> None:
    common = [f"checkpoint={weights}", "eps=[16]", "method=[fgsm,pgd]", "boxes=[white]"]
    native = run_job(*common, out="native")
    external = run_job(*EXTERNAL, *common, out="external")
    assert external["config"]["model"]["name"] == "external"
    assert external["clean_acc"] == native["clean_acc"] > 80
    assert [(r["method"], r["asr"]) for r in external["results"]] == [
        (r["method"], r["asr"]) for r in native["results"]
    ]
    assert external["masking"]["flagged"] == native["masking"]["flagged"]


def test_an_external_model_attacked_with_the_factorys_own_weights_and_a_black_box_source(
    run_job, weights
) -> None:
    metrics = run_job(
        *EXTERNAL,
        "+model.kwargs.lam=0.9",
        f"source_checkpoint={weights}",
        "eps=[16]",
        "method=[fgsm]",
    )
    assert metrics["models"]["target"]["factory"] == "external_nets.digits_net"
    # the models' own neurons (lam=0.9 by the factory, for the source's file too), not the
    # config's unused lambda=1.0
    assert metrics["config"]["lambda"] == 1.0
    for model in ("target", "source"):
        neurons = metrics["models"][model]["neurons"]
        assert len(neurons) >= 2
        assert {(n["lambda"], n["theta"], n["reset"]) for n in neurons} == {(0.9, 1.0, "hard")}
    assert [r["source_lambda"] for r in metrics["results"]] == [0.9, 0.9]
    assert [r["box"] for r in metrics["results"]] == ["white", "black"]
    assert metrics["source_clean_acc"] > 80  # the source has the trained weights
    assert metrics["clean_acc"] < 50  # the target, the factory's untrained weights


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=external"], "model.factory._target_; accepted"),
        (["model=external", "model.factory._target_=nowhere.make"], "nowhere.make cannot"),
        ([*EXTERNAL[:1], "model.factory._target_=external_nets.not_a_network"], "returned a str"),
        (
            [*EXTERNAL[:1], "model.factory._target_=external_nets.broken", "+model.kwargs.width=3"],
            "no layer of width 3",
        ),
        ([*EXTERNAL, "+model.kwargs.T=2"], "accepted: T=2"),
        ([*EXTERNAL, "train.kind=ann"], "train.kind=ann with model=external"),
        ([*EXTERNAL, "boxes=[white,black]"], "source_checkpoint=PATH"),
        (  # the network's own leak (0.5), not the config's lambda (1.0): refused mid-attack
            [
                *EXTERNAL,
                "+model.kwargs.lam=0.5",
                "attack=rga",
                "attack.params.gamma=50",
                "boxes=[white]",
            ],
            "attack.params.gamma=50 gives a rate of 25 >= 1 at the firing onset of lambda=0.5",
        ),
    ],
)
def test_an_external_model_that_cannot_be_built_or_trained_is_refused_in_one_line(
    overrides, message
) -> None:
    with pytest.raises(ConfigError) as err:
        job_checks(compose(*overrides))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_factory_that_cannot_be_imported_ends_the_job_in_one_line_with_exit_code_2(cli) -> None:
    done = cli(
        "model=external", "model.factory._target_=nowhere.make", "trainer.enable_progress_bar=false"
    )
    assert done.returncode == 2
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert "model.factory._target_=nowhere.make" in line


@pytest.mark.slow
def test_a_sweep_over_an_external_model_ends_with_its_report_and_wandb_runs(
    cli, weights, tmp_path: Path
) -> None:
    done = cli(
        "-m",
        *EXTERNAL,
        f"checkpoint={weights}",
        "attack=stbp,rga",
        "eps=[16]",
        "method=[fgsm]",
        "boxes=[white]",
        "logger=wandb",
        "trainer.enable_progress_bar=false",
        f"hydra.sweep.dir={tmp_path}/sweep",
        env={"WANDB_MODE": "offline"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sweep = tmp_path / "sweep"
    jobs = sorted(sweep.glob("*/metrics.json"))
    assert len(jobs) == 2
    assert "model = external" in (sweep / "report.md").read_text()
    wandb.teardown()
    assert len(list(sweep.rglob("offline-run-*"))) >= 2  # an attack run per job


def test_the_factory_gets_its_keyword_arguments_and_the_jobs_t_by_interpolation() -> None:
    cfg = compose(*EXTERNAL, "+model.kwargs.T=${T}", "+model.kwargs.lam=0.5", "T=6")
    job_checks(compose(*EXTERNAL, "+model.kwargs.T=${T}", "T=6", "boxes=[white]"))
    model = build_model(model_settings(cfg))
    assert model.T == 6
    assert {m.lam for m in model.modules() if isinstance(m, LIF)} == {0.5}


# a factory whose network cannot be attacked on the dataset: (factory, the start of the line)
UNFIT = [
    (
        "three_channels",
        "model.factory._target_=external_nets.three_channels: its forward on one image of "
        "dataset=digits (shape [1, 1, 8, 8]) raised RuntimeError: Given groups=1",
    ),
    (
        "five_classes",
        "model.factory._target_=external_nets.five_classes returns 5 classes but "
        "dataset=digits has 10; accepted: a network with 10 outputs",
    ),
    (
        "nan_weight",
        "model.factory._target_=external_nets.nan_weight has non-finite (NaN or inf) weights "
        "in body.0.module.weight; accepted: ",
    ),
    (
        "failing",
        "model.factory._target_=external_nets.failing: its forward on one image of "
        "dataset=digits (shape [1, 1, 8, 8]) raised KeyError: 'no such layer: fc2'; accepted: ",
    ),
    (
        "with_spikes",
        "model.factory._target_=external_nets.with_spikes returns a tuple of 2, not one "
        "tensor; accepted: ",
    ),
]


@pytest.mark.parametrize(("factory", "line"), UNFIT, ids=[u[0] for u in UNFIT])
def test_a_factorys_network_that_does_not_fit_the_dataset_is_refused_in_one_line(
    factory: str, line: str
) -> None:
    if factory in ("failing", "with_spikes"):
        pytest.importorskip("spikingjelly")
    with pytest.raises(UserError) as err:
        job_checks(compose(*EXTERNAL[:1], f"model.factory._target_=external_nets.{factory}"))
    assert str(err.value).startswith(line) and "\n" not in str(err.value)


def refusal(cli, tmp_path: Path, *overrides: str) -> str:
    """The one line of a job of ``overrides`` refused with exit code 2, leaving nothing."""
    done = cli(*overrides, f"hydra.run.dir={tmp_path}/out", f"store.dir={tmp_path}/models")
    assert done.returncode == 2
    (only,) = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == []
    return only


def test_a_network_that_does_not_fit_ends_the_job_with_exit_code_2_leaving_nothing(
    cli, tmp_path: Path
) -> None:
    only = refusal(
        cli,
        tmp_path,
        "model=external",
        "model.factory._target_=external_nets.three_channels",
        "boxes=[white]",
    )
    assert only.startswith(f"error: {UNFIT[0][1]}") and "accepted: " in only, only


def test_a_factorys_nan_weights_that_checkpoint_replaces_are_accepted(weights) -> None:
    """The weights attacked are the file's (checked finite when it is loaded)."""
    job_checks(
        compose(
            *EXTERNAL[:1],
            "model.factory._target_=external_nets.nan_weight",
            f"checkpoint={weights}",
            "boxes=[white]",
        )
    )


# a foreign network whose neurons read their weights' values when built (snnTorch's Leaky:
# a learned threshold): the analyses' check built it on the meta device, which has none
LEAKY = ["model=external", "model.factory._target_=foreign_nets.snntorch_leaky", "boxes=[white]"]


def test_the_analyses_run_on_a_foreign_network_with_its_own_neurons(run_job) -> None:
    metrics = run_job(
        *LEAKY,
        "eps=[16]",
        "method=[fgsm]",
        "analysis=[shuffle,rate_current]",
        "analysis.rate_current.n_points=50",
    )
    shuffle, curve = metrics["analyses"]["shuffle"], metrics["analyses"]["rate_current"]
    assert shuffle["n"] == metrics["n"] and shuffle["mode"] == "layer"
    assert len(curve["actual"]["rate"]) == 50
    # the network's second Leaky: beta 0.8 and threshold 0.5, not the config's lambda, theta
    assert curve["actual"]["lam"] == pytest.approx(0.8) and curve["actual"]["theta"] == 0.5


def test_an_analysis_layer_beyond_a_foreign_networks_spiking_layers_is_refused_in_one_line(
    cli, tmp_path: Path
) -> None:
    only = refusal(
        cli, tmp_path, *LEAKY, "analysis=[rate_current]", "analysis.rate_current.layer=2"
    )
    assert only == (
        "error: analysis.rate_current.layer=2 is out of range: model=external (train.kind=stbp) "
        "has 2 spiking layers; accepted: an integer in [0, 1]"
    )


def test_an_ensemble_component_that_does_not_fit_the_networks_neurons_is_refused_first(
    cli, tmp_path: Path
) -> None:
    """A component's ``attack_params`` that fit the config's ``lambda`` (1.0) but not the
    network's own neurons (snnTorch's ``beta=0.8``: RGA's ramp needs ``beta > 0.2``) are
    refused before any work, naming the component's keys: the job crafted the rows before the
    component and stopped on the mode's refusal at its craft."""
    only = refusal(
        cli,
        tmp_path,
        *LEAKY,
        "eps=[16]",
        "method=[fgsm,ensemble]",
        "method.ensemble.components=[{attack: rga, method: fgsm, attack_params: {beta: 0.15}}]",
    )
    assert only == (
        "error: RGA on the spiking layer 2 (Leaky): "
        "method.ensemble.components.fgsm/rga.attack_params.beta=0.15 ends RGA's ramp at or below "
        "its start, the firing onset (1 - lambda) theta of lambda=0.8 for "
        "method.ensemble.components.fgsm/rga.attack=rga; accepted: beta > 0.2 (1 - lambda)"
    )


@pytest.fixture(scope="module")
def leaky_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two files of the ``snntorch_leaky`` factory's network: the target's, its decays as
    the factory sets them (``beta=0.8``), and a black-box source's, whose learned decays
    another training moved to 0.7."""
    import foreign_nets

    folder = tmp_path_factory.mktemp("leaky")
    net = foreign_nets.snntorch_leaky()
    torch.save(net.state_dict(), folder / "target.pt")
    with torch.no_grad():
        for name, tensor in net.named_parameters():
            if name.endswith("beta"):
                tensor.fill_(0.7)
    torch.save(net.state_dict(), folder / "source.pt")
    return folder / "target.pt", folder / "source.pt"


@pytest.mark.parametrize(
    ("chooses", "keys"),
    [
        (
            ["method=[fgsm]", "attack=rga", "attack.params.beta=0.25"],
            ("attack.params.", "attack=rga"),
        ),
        (
            [
                "method=[fgsm,ensemble]",
                "method.ensemble.components=[{attack: rga, method: fgsm, "
                "attack_params: {beta: 0.25}}]",
            ],
            (
                "method.ensemble.components.fgsm/rga.attack_params.",
                "method.ensemble.components.fgsm/rga.attack=rga",
            ),
        ),
    ],
    ids=["job", "component"],
)
def test_a_gradient_mode_that_does_not_fit_the_sources_file_is_refused_by_its_keys(
    cli, tmp_path: Path, leaky_files: tuple[Path, Path], chooses: list[str], keys: tuple[str, str]
) -> None:
    """RGA's ``beta=0.25`` fits the target's decays (0.8: beta > 0.2) but not those of the
    black-box source loaded from ``source_checkpoint=`` (0.7: beta > 0.3), on which it
    crafts: refused before any work, naming the key and the source, as for the target. Only
    the target was fitted: the mode itself refused the source later, naming no key."""
    target, source = leaky_files
    only = refusal(
        cli,
        tmp_path,
        *LEAKY[:2],
        f"checkpoint={target}",
        f"source_checkpoint={source}",
        "boxes=[black]",
        "eps=[16]",
        *chooses,
    )
    prefix, chosen = keys
    assert only == (
        f"error: RGA on the spiking layer 2 (Leaky): {prefix}beta=0.25 ends RGA's ramp at or "
        "below its start, the firing onset (1 - lambda) theta of lambda=0.7 (the source's) "
        f"for {chosen}; accepted: beta > 0.3 (1 - lambda)"
    )


def test_a_factorys_own_weights_are_the_same_in_every_job_of_the_config(run_job) -> None:
    """Without checkpoint= the factory's weights are attacked as it initialises them: drawn
    from whatever the process had consumed before, they were other weights in each job of
    one config (another clean accuracy and ASR per run or relaunch). Seeded with the job's
    seed, two runs in one process give the same weights and numbers; another seed others."""
    common = [*EXTERNAL, "eps=[16]", "method=[fgsm]", "boxes=[white]"]
    first = run_job(*common, out="first")
    torch.rand(7)  # another process's state: a relaunch's, or a sweep's later job
    second = run_job(*common, out="second")
    other = run_job(*common, "seed=1", out="other")
    weights = [m["models"]["target"]["weights"] for m in (first, second, other)]
    assert weights[0] == weights[1] != weights[2]
    assert (first["clean_acc"], first["results"]) == (second["clean_acc"], second["results"])
    assert run_job(*common, out="first") == first  # relaunched: skipped as the finished job
