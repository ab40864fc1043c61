"""Every bad value a user may set stops the job before any work: one line, exit code 2."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import CONF, compose

from snnattack.cli import check_group_choices, discard_job_folder, one_line
from snnattack.config import RULES, validate, writable
from snnattack.errors import ConfigError, DataError

# (overrides, the start of the one-line message: key=value and what is wrong)
BAD = [
    ("lambda=1.5", "lambda=1.5 is out of range; accepted: 0 < lambda <= 1"),
    ("lambda=0", "lambda=0 is out of range"),
    ("lambda=nan", "lambda=nan is out of range"),
    ("T=0", "T=0 is out of range; accepted: an integer >= 1"),
    ("T=2.5", "T=2.5 is out of range"),
    ("T=inf", "T=inf is out of range"),
    ("theta=-1", "theta=-1 is out of range; accepted: 0 < theta"),
    ("theta=inf", "theta=inf is out of range"),
    ("reset=sideways", "reset='sideways' is unknown; accepted: hard, soft"),
    (
        "encoding=morse",
        "encoding='morse' is unknown; accepted: direct, poisson, poisson_signed, frames",
    ),
    ("eps=[-8]", "eps=[-8] is out of range"),
    ("eps=[300]", "eps=[300] is out of range"),
    ("eps=[nan]", "eps=[nan] is out of range"),
    ("eps=[0]", "eps=[0] makes every attack a no-op"),
    ("boxes=[grey]", "boxes=['grey'] is out of range"),
    ("boxes=[]", "boxes=[] is out of range"),
    ("seed=xyz", "seed='xyz' is out of range; accepted: an integer in [0, 4294967295]"),
    ("seed=-1", "seed=-1 is out of range"),
    ("source_seed_offset=0", "source_seed_offset=0 is out of range"),
    ("eval_batch_size=0", "eval_batch_size=0 is out of range"),
    ("train.batch_size=0", "train.batch_size=0 is out of range"),
    ("train.epochs=0", "train.epochs=0 is out of range"),
    ("train.lr=0", "train.lr=0 is out of range; accepted: 0 < train.lr"),
    ("train.lr=inf", "train.lr=inf is out of range"),
    ("train.lr=abc", "train.lr='abc' is out of range; accepted: 0 < train.lr"),
    (
        "attack=hart attack.params.gamma=wide",
        "attack.params.gamma='wide' is out of range for attack=hart",
    ),
    ("train.momentum=1.5", "train.momentum=1.5 is out of range; accepted: 0 <= train.momentum"),
    ("train.weight_decay=-1", "train.weight_decay=-1 is out of range"),
    ("train.surrogate_width=0", "train.surrogate_width=0 is out of range"),
    ("train.nesterov=maybe", "train.nesterov='maybe' is out of range; accepted: true or false"),
    ("train.adversary.method=pgdd", "train.adversary.method='pgdd' is unknown; accepted: null or"),
    ("train.adversary.eps=0", "train.adversary.eps=0 is out of range; accepted: 0 < train.adv"),
    ("train.adversary.eps=-2", "train.adversary.eps=-2 is out of range"),
    ("train.adversary.steps=0", "train.adversary.steps=0 is out of range; accepted: an integer"),
    ("train.adversary.beta=-1", "train.adversary.beta=-1 is out of range; accepted: 0 <= train"),
    ("train.adversary.alpha=0", "train.adversary.alpha=0 is out of range"),
    ("train.adversary.grad_mode=rgb", "train.adversary.grad_mode='rgb' is unknown; accepted: stbp"),
    ("train.adversary.reg=-0.1", "train.adversary.reg=-0.1 is out of range"),
    ("train.adversary.ramp_epochs=-1", "train.adversary.ramp_epochs=-1 is out of range"),
    ("train.adversary.bn_mode=batch", "train.adversary.bn_mode='batch' is unknown; accepted: null"),
    (
        "train.adversary.method=pgd train.adversary.grad_mode=rga train.adversary.bn_mode=train",
        "train.adversary.bn_mode=train does not apply to train.adversary.grad_mode=rga",
    ),
    (
        "train.adversary.method=pgd train.adversary.grad_mode=rga +train.adversary.params.width=1",
        "train.adversary.params.width=1 is unknown; accepted: beta, gamma",
    ),
    (
        "train.adversary.grad_mode=rga +train.adversary.params.beta=0",
        "train.adversary.params.beta=0 is out of range for train.adversary.grad_mode=rga; "
        "accepted: 0 < train.adversary.params.beta",
    ),
    (
        "train.adversary.method=pgd train.adversary.grad_mode=hart +train.adversary.params.gamma=0",
        "train.adversary.params.gamma=0 is out of range for train.adversary.grad_mode=hart",
    ),
    (
        "attack.save_examples=maybe",
        "attack.save_examples='maybe' is out of range; accepted: true or false",
    ),
    ("attack.fold_bn=1", "attack.fold_bn=1 is out of range; accepted: true or false"),
    ("attack.reuse=sometimes", "attack.reuse='sometimes' is out of range; accepted: true or false"),
    ("compile=yes_please", "compile='yes_please' is out of range; accepted: true or false"),
    ("method.pgd.steps=0", "method.pgd.steps=0 is out of range"),
    ("method.pgd.alpha=-1", "method.pgd.alpha=-1 is out of range"),
    ("method.pgd.eps_per_alpha=0", "method.pgd.eps_per_alpha=0 is out of range"),
    ("method.pgd.random_start=2", "method.pgd.random_start=2 is out of range"),
    ("+method.pgd.decay=1", "method.pgd.decay=1 is unknown; accepted: steps, alpha, "),
    (
        "attack=rga attack.params.beta=0",
        "attack.params.beta=0 is out of range for attack=rga; accepted: 0 < attack.params.beta",
    ),
    (
        "attack=rga_layerwise attack.params.gamma=-0.1",
        "attack.params.gamma=-0.1 is out of range for attack=rga_layerwise; accepted: 0 <= ",
    ),
    (
        "attack=hart attack.params.gamma=0",
        "attack.params.gamma=0 is out of range for attack=hart; accepted: 0 < attack.params.gamma",
    ),
    ("attack=hart attack.params.gamma=inf", "attack.params.gamma=inf is out of range for attack"),
    (
        "attack.params.width=0",
        "attack.params.width=0 is out of range for attack=stbp; accepted: null or 0 < attack.",
    ),
    ("+attack.params.beta=2", "attack.params.beta=2 is unknown; accepted: width"),
    (
        "attack.params.surrogate=gauss",
        "attack.params.surrogate='gauss' is unknown for attack=stbp; accepted: triangle",
    ),
    (
        "attack=assg attack.params.a=0.7",
        "attack.params.a=0.7 is out of range for attack=assg; accepted: 0 < attack.params.a < 0.5",
    ),
    ("attack=assg attack.params.a=0.5", "attack.params.a=0.5 is out of range for attack=assg"),
    ("attack=assg attack.params.a=0", "attack.params.a=0 is out of range for attack=assg"),
    ("attack=assg attack.params.relax=-1", "attack.params.relax=-1 is out of range for attack="),
    (
        "attack=assg attack.params.beta_1=1",
        "attack.params.beta_1=1 is out of range for attack=assg; accepted: 0 <= attack.params.be",
    ),
    ("attack=assg attack.params.beta_2=-0.1", "attack.params.beta_2=-0.1 is out of range for"),
    (
        "attack=hart attack.tune.enabled=true attack.tune.grids.hart.gamma.start=0",
        "attack.tune.grids.hart.gamma=0.0 is out of range for attack=hart; accepted: 0 < ",
    ),
    (
        "method=[ensemble] method.ensemble.components=[{attack:hart,method:pgd,"
        "attack_params:{gamma:-1}}]",
        "method.ensemble.components.pgd/hart.attack_params.gamma=-1 is out of range for "
        "attack=hart; accepted: 0 < method.ensemble.components.pgd/hart.attack_params.gamma",
    ),
    ("attack=pdsg +attack.params.width=1", "attack.params.width=1 is unknown; accepted: no param"),
    ("neuron_impl=cuda", "neuron_impl='cuda' is unknown; accepted: fused, unrolled"),
    ("malloc=jemalloc", "malloc='jemalloc' is unknown; accepted: reuse, system"),
    ("neuron_kernel=cuda", "neuron_kernel='cuda' is unknown; accepted: auto, torch"),
    ("attack.params.alpha=0", "attack.params.alpha=0 is out of range for attack=stbp"),
    ("trainer.max_epochs=-1", "trainer.max_epochs=-1 is out of range; accepted: an integer >= 1"),
    ("trainer.devices=0", "trainer.devices=0 is out of range"),
    ("trainer.limit_test_batches=0", "trainer.limit_test_batches=0 is out of range"),
    ("trainer.limit_train_batches=1.5", "trainer.limit_train_batches=1.5 is out of range"),
    ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps=0 is out of range"),
    ("trainer.precision=17", "trainer.precision=17 is unknown; accepted: 64-true"),
    ("trainer.accelerator=abacus", "trainer.accelerator='abacus' is unknown; accepted: auto"),
    ("trainer.deterministic=sometimes", "trainer.deterministic='sometimes' is out of range"),
    ("model=vgg11", "model=vgg11 does not fit dataset=digits (input 1x8x8); accepted: digits_net"),
    ("dataset=cifar10_dvs T=10 model=vgg11", "model=vgg11 does not fit dataset=cifar10_dvs"),
    ("dataset=cifar10 model=dvs_vgg", "model=dvs_vgg does not fit dataset=cifar10"),
    (
        "dataset=cifar10_dvs encoding=poisson",
        "encoding='poisson' does not fit dataset=cifar10_dvs; accepted: frames",
    ),
    (
        "dataset=cifar10_dvs T=10 model=dvs_vgg dataset.params.frames=5",
        "dataset.params.frames=5 does not match T=10",
    ),
    ("T=100000", "T=100000 with train.batch_size=64 needs about "),
    ("train.kind=conversion T=10000000", "T=10000000 with eval_batch_size=32 needs about "),
    ("dataset.params.num_workers=-1", "dataset.params.num_workers=-1 is out of range"),
    ("dataset.params.test_fraction=1.5", "dataset.params.test_fraction=1.5 is out of range"),
    ("+dataset.params.augment=true", "dataset.params.augment=True is unknown; accepted: test_fr"),
    ("logger=wandb logger.wandb.mode=loud", "logger.wandb.mode='loud' is unknown"),
    (
        "analysis=[shuffle] analysis.shuffle.mode=time",
        "analysis.shuffle.mode='time' is unknown; accepted: layer, neuron",
    ),
    ("tags=[a," + "x" * 65 + "]", "tags=['a', 'xxxxxxxx"),
    ("analysis=[cost] analysis.cost.device=tpu", "analysis.cost.device='tpu' is unknown; accepted"),
    (
        "analysis=[cost] analysis.cost.device=cuda:99",
        "analysis.cost.device=cuda:99 but this machine",
    ),
    ("analysis=[cost] analysis.cost.repeats=0", "analysis.cost.repeats=0 is out of range"),
    ("analysis=[shuffle] analysis.shuffle.limit_batches=0", "analysis.shuffle.limit_batches=0 is"),
    (
        "analysis=[rate_current] analysis.rate_current.layer=9",
        "analysis.rate_current.layer=9 is out of range: model=digits_net (train.kind=stbp) has 2 "
        "spiking layers; accepted: an integer in [0, 1]",
    ),
    ("checkpoint=/no/such/model.pt", "checkpoint='/no/such/model.pt' is not a file; accepted: "),
    ("attack.steps_curve=[0,5]", "attack.steps_curve=[0, 5] is out of range; accepted: a list"),
    ("attack.tune.val_size=0", "attack.tune.val_size=0 is out of range"),
    ("attack.tune.enabled=maybe", "attack.tune.enabled='maybe' is out of range"),
    ("checks.masking.unbounded_asr=101", "checks.masking.unbounded_asr=101 is out of range"),
    ("checks.masking.probe_size=0", "checks.masking.probe_size=0 is out of range"),
    ("method=[sapgd] method.sapgd.momentum=2", "method.sapgd.momentum=2 is out of range"),
    ("method=[sapgd] method.sapgd.loss=l2", "method.sapgd.loss='l2' is unknown; accepted: ce"),
    (
        "method=[ensemble] method.ensemble.poisson_eot_samples=0",
        "method.ensemble.poisson_eot_samples=0 is out of range",
    ),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_refused_in_one_line_naming_key_and_accepted(
    overrides: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose(*overrides.split()))
    line = str(err.value)
    assert line.startswith(message)
    assert "\n" not in line and "accepted: " in line


@pytest.mark.parametrize(
    "argv,message",
    [
        (["model=vgg12"], "model=vgg12 is unknown (did you mean vgg16?); accepted: digits_net, "),
        (["experiment=typo"], "experiment=typo is unknown; accepted: cifar100_resnet17"),
        (
            ["-m", "attack=rga,stbbp"],
            "attack=stbbp is unknown (did you mean stbp?); accepted: ann, ",
        ),
        (
            ["method=[fgsm,pgdd]"],
            "method=pgdd is unknown (did you mean pgd?); accepted: apgd, apgd_dlr, ",
        ),
        (
            ["train=conversion"],
            "train=conversion is unknown (a kind of training, not a recipe: "
            "train.kind=conversion); accepted: digits, paper",
        ),
    ],
)
def test_unknown_group_choice_is_refused_with_the_choices(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        check_group_choices(argv, CONF)


def test_known_group_choices_and_sweeps_pass() -> None:
    check_group_choices(
        [
            "-m",
            "attack=rga,stbp",
            "method=[fgsm],[pgd]",
            "experiment=cifar10_vgg11",
            "lambda=0.5,0.9",
            "hydra.run.dir=x",
        ],
        CONF,
    )


def test_every_rule_key_exists_in_some_config_or_is_reserved() -> None:
    """A renamed key must not leave its rule behind, checking nothing."""
    reserved = {
        "attack.time_extension",
        "attack.eot_samples",
        "threads",
        "trainer.num_nodes",
        "trainer.accumulate_grad_batches",
        "trainer.gradient_clip_val",
    }
    text = "\n".join(p.read_text() for p in CONF.rglob("*.yaml"))
    for key in set(RULES) - reserved:
        assert [part for part in key.split(".") if part != "*"][-1] + ":" in text, key


def test_unwritable_output_folder_or_store_is_named(tmp_path: Path) -> None:
    cfg = compose()
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=f"^the output folder='{blocker}/out' cannot be written"):
        validate(cfg, blocker / "out")
    with pytest.raises(ConfigError, match=f"^store.dir='{blocker}/models' cannot be written"):
        writable(blocker / "models", "store.dir", must_exist=False)
    writable(tmp_path / "new" / "models", "store.dir", must_exist=False)  # can be created


def test_read_only_output_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        "snnattack.config.preflight.os.access", lambda path, mode: Path(path) != tmp_path
    )
    with pytest.raises(ConfigError, match=f"^the output folder='{tmp_path}' cannot be written"):
        writable(tmp_path, "the output folder")


def test_refused_job_folder_with_only_hydra_files_is_removed(tmp_path: Path) -> None:
    (tmp_path / "job" / ".hydra").mkdir(parents=True)
    (tmp_path / "job" / "run.log").write_text("")
    discard_job_folder(tmp_path / "job")
    assert not (tmp_path / "job").exists()
    (tmp_path / "done" / ".hydra").mkdir(parents=True)
    (tmp_path / "done" / "metrics.json").write_text("{}")
    discard_job_folder(tmp_path / "done")
    assert (tmp_path / "done" / "metrics.json").read_text() == "{}"


def test_data_error_from_a_loader_worker_is_the_original_line() -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Broken(Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> torch.Tensor:
            raise DataError("cannot read /data/x.pt (truncated); delete the file")

    with pytest.raises(DataError) as err:
        next(iter(DataLoader(Broken(), num_workers=1)))
    assert "Original Traceback" in str(err.value)
    assert one_line(err.value) == "cannot read /data/x.pt (truncated); delete the file"


# Through run.py (in-process): Hydra's own errors, exit code 2, no traceback, nothing left behind
THROUGH_RUN_PY = [
    ("seed=xyz", "error: seed='xyz' is out of range; accepted: an integer in [0, 4294967295]"),
    (
        "model=vgg12",
        "error: model=vgg12 is unknown (did you mean vgg16?); accepted: digits_net, digits_resnet, "
        "dvs_vgg, resnet17, resnet19, vgg11, vgg11_eccv, vgg16",
    ),
    ("experiment=typo", "error: experiment=typo is unknown; accepted: cifar100_resnet17, "),
    ("lamda=0.9", "error: unknown key 'lamda'; did you mean 'lambda'? accepted: "),
    (
        "+experiments=digits_table2",
        "error: unknown key 'experiments'; did you mean 'experiment'? (digits_table2 is a "
        "sweep of experiments/: python run.py -m -cd experiments -cn digits_table2); accepted: ",
    ),
    ("trainer.max_epochs=-1", "error: trainer.max_epochs=-1 is out of range; "),
    ("+attack.params.gamma=0.3", "error: attack.params.gamma=0.3 is unknown; accepted: width"),
]


@pytest.mark.parametrize("override,line", THROUGH_RUN_PY, ids=[s[0] for s in THROUGH_RUN_PY])
def test_run_py_refuses_bad_input_with_exit_2_and_leaves_nothing(
    tmp_path: Path, cli: Callable, override: str, line: str
) -> None:
    store = tmp_path / "models"
    store.mkdir()
    (store / "kept.txt").write_bytes(b"model bytes")
    proc = cli(override, f"hydra.run.dir={tmp_path}/out", f"store.dir={store}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), proc.stderr
    assert "accepted: " in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]
    assert [p.name for p in store.iterdir()] == ["kept.txt"]
    assert (store / "kept.txt").read_bytes() == b"model bytes"
