"""The job's speed-ups (``attack.fold_bn``, ``compile``): the same clean accuracy, plain
checkpoints, and the trained models left as they were."""

from pathlib import Path

import pytest
import torch
from harness import compose, resolved
from omegaconf import DictConfig
from torch import nn

import snnattack
from snnattack.attacks.crafting import ann_boxes
from snnattack.config.validation import notes
from snnattack.cpu.guard import BACKENDS
from snnattack.evaluation import attacked
from snnattack.evaluation.attacked import attacked_models, compiles
from snnattack.job import run
from snnattack.models import build
from snnattack.preparation.config import job_settings
from snnattack.training import STRATEGIES
from snnattack.training.classifier import Classifier
from snnattack.training.parse import model_settings, source_config

BN = nn.modules.batchnorm._BatchNorm
# clean accuracy (percentage points) a speed-up may move on the digits test batches: float32
# rounding can flip a spike of a sample near its threshold, and so at most one sample's
# prediction in the 64 attacked here (docs/performance.md)
CLEAN_BOUND = 100 / 64


def job_cfg(store: Path, *overrides: str):
    return compose(
        "train.epochs=3",
        "lambda=0.9",
        f"store.dir={store}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.limit_test_batches=2",
        "boxes=[white]",
        "method=[fgsm]",
        "eps=[16]",
        *overrides,
    )


def test_a_compiled_classifier_saves_plain_checkpoint_keys() -> None:
    model = build("digits_net", num_classes=10, in_channels=1, T=2)
    plain = Classifier(model, 10).state_dict()
    compiled = Classifier(model, 10, compile=True).state_dict()
    assert list(compiled) == list(plain)
    assert all(k.startswith("model.") and "_orig_mod" not in k for k in compiled)


@pytest.mark.parametrize("compile_", [False, True])
def test_attacked_models_are_prepared_copies(compile_: bool, tmp_path: Path) -> None:
    cfg = job_cfg(tmp_path, "attack.fold_bn=true", f"compile={str(compile_).lower()}")
    target = build("digits_net", num_classes=10, in_channels=1, T=2).eval()
    keys = list(target.state_dict())
    attacked, source = attacked_models(
        target, None, fold_bn=cfg.attack.fold_bn, compiled=cfg.compile
    )
    assert source is None
    assert attacked is not target
    assert any(isinstance(m, BN) for m in target.modules())  # the trained model keeps its BNs
    assert not any(isinstance(m, BN) for m in attacked.modules())
    assert not any("_orig_mod" in k for k in attacked.state_dict())
    assert list(target.state_dict()) == keys


def clean_accuracy(tmp_path: Path, *overrides: str) -> float:
    out = tmp_path / "_".join(overrides).replace("=", "-")
    out.mkdir(parents=True)
    return run(job_cfg(tmp_path / "models", *overrides), out).clean_acc


def test_a_digits_job_with_folded_bn_has_the_same_clean_accuracy(tmp_path: Path) -> None:
    off = clean_accuracy(tmp_path, "attack.fold_bn=false")
    on = clean_accuracy(tmp_path, "attack.fold_bn=true")
    assert off > 50  # a model that learned something, so the comparison means something
    assert abs(on - off) <= CLEAN_BOUND


@pytest.mark.slow
def test_a_compiled_digits_job_has_the_same_clean_accuracy(tmp_path: Path) -> None:
    torch._dynamo.reset()
    off = clean_accuracy(tmp_path / "off", "compile=false")
    on = clean_accuracy(tmp_path / "on", "compile=true")
    assert off > 50
    assert abs(on - off) <= CLEAN_BOUND


EAGER = "compile=true compiles no attacked copy: the gradient mode"  # the note's start


def eager_notes(cfg: DictConfig) -> list[str]:
    """The config's notes that ``compile=true`` compiles no attacked copy (its other notes, of
    a mode no method or no ANN reads, are other tests')."""
    return [line for line in notes(resolved(cfg)) if line.startswith(EAGER)]


def crafters(cfg: DictConfig) -> dict[str, nn.Module]:
    """Each box's crafting model as the job builds it, untrained: the target (white box) and
    the black box's source (``source_train``)."""

    def net(config: DictConfig) -> nn.Module:
        return STRATEGIES[config.train.kind].build(model_settings(config))

    return {"white": net(cfg), "black": net(source_config(cfg))}


def test_a_gradient_mode_that_needs_the_eager_model_is_attacked_eager_with_compile(
    run_job,
) -> None:
    """``compile=true`` compiles no attacked copy for RGA (its adjoint reads each layer's own
    autograd node, which a compiled graph fuses: its gradient came out 10^4 times too small
    with random signs) nor PDSG (statistics kept in Python: inductor failed): the rows are the
    eager job's, and a note says so; as for an ensemble's RGA component."""
    note = "compile=true compiles no attacked copy: the gradient mode {} needs the eager model"
    quick = ("train.epochs=1", "trainer.limit_test_batches=1", "method=[fgsm,pgd]", "eps=[32]")
    for mode in ("rga", "pdsg"):
        eager = run_job(*quick, f"attack={mode}", out=f"{mode}_eager")
        compiled = run_job(*quick, f"attack={mode}", "compile=true", out=f"{mode}_compiled")
        assert [r["asr"] for r in compiled["results"]] == [r["asr"] for r in eager["results"]]
        assert any(n.startswith(note.format(mode)) for n in compiled["notes"])
    ensemble = "method.ensemble_quick.components=[{attack: rga, method: fgsm}]"
    (line,) = eager_notes(compose("compile=true", "method=[ensemble_quick]", ensemble))
    assert line.startswith(note.format("rga"))
    pdsg = "{attack: pdsg, method: fgsm}"
    both = f"method.ensemble_quick.components=[{{attack: rga, method: fgsm}}, {pdsg}]"
    (line,) = eager_notes(compose("compile=true", "method=[ensemble_quick]", both))
    assert line.startswith(note.replace("mode {} needs", "modes rga, pdsg need"))


@pytest.mark.parametrize(
    "methods",
    [
        (
            "method=[ensemble_quick]",
            "method.ensemble_quick.components=[{attack: stbp, method: fgsm}]",
        ),
        ("method=[square]",),
        ("method=[ensemble_quick,square]", "method.ensemble_quick.components=[{method: square}]"),
        # rows crafted on ANNs (the target's and the source's: both boxes), which run their
        # own autograd (ann-autograd): the job's mode, and an ensemble component's, unread
        ("train.kind=ann", "method=[pgd]"),
        ("boxes=[black]", "source_train=ann", "method=[fgsm,pgd]"),
        (
            "train.kind=ann",
            "method=[ensemble_quick]",
            "method.ensemble_quick.components=[{attack: rga, method: fgsm}]",
        ),
    ],
)
@pytest.mark.parametrize("masking", ["true", "false"])
def test_a_mode_that_no_row_reads_leaves_the_attacked_copy_compiled(
    methods: tuple[str, ...], masking: str
) -> None:
    """``attack=rga compile=true`` where no row reads the job's mode (the ensemble's components
    name their own, Square reads none, a row crafted on an ANN runs the ANN's own autograd)
    compiled no attacked copy and noted RGA as the cause: the copy is compiled and no note
    speaks. The masking checks probe with the job's mode, but on a copy never compiled
    (``probed_model``), so they leave the compilation as it is."""
    cfg = compose("attack=rga", "compile=true", f"checks.masking.enabled={masking}", *methods)
    settings = job_settings(cfg)
    assert compiles(settings.attack, settings.specs, ann_boxes(crafters(cfg)))
    assert eager_notes(cfg) == []
    read = compose(
        "attack=rga", "compile=true", f"checks.masking.enabled={masking}", "method=[fgsm]"
    )
    settings = job_settings(read)  # a method that reads it: eager, as ever
    assert not compiles(settings.attack, settings.specs, ann_boxes(crafters(read)))
    (line,) = eager_notes(read)
    assert line.startswith("compile=true compiles no attacked copy: the gradient mode rga needs")


@pytest.mark.parametrize(
    "boxes",
    [
        ("train.kind=ann", "source_train=stbp"),  # black-box rows on a spiking source
        ("boxes=[white]", "source_train=ann"),  # white-box rows on a spiking target
    ],
)
def test_a_mode_read_on_a_spiking_model_beside_an_ann_runs_the_attacks_eager(
    boxes: tuple[str, ...],
) -> None:
    """Where one box's rows craft on an ANN and the other's on a spiking model with RGA, the
    spiking model's rows read the job's mode: the attacked copies run eager, and the note
    says so, as where every model spikes."""
    cfg = compose("attack=rga", "compile=true", "method=[pgd]", *boxes)
    settings = job_settings(cfg)
    assert not compiles(settings.attack, settings.specs, ann_boxes(crafters(cfg)))
    (line,) = eager_notes(cfg)
    assert line.startswith("compile=true compiles no attacked copy: the gradient mode rga needs")


@pytest.mark.slow  # compiles digits_net's forward and backward with inductor: a minute
def test_a_compiled_copy_draws_the_poisson_spikes_the_eager_one_draws(run_job) -> None:
    """Random ops under ``compile=true`` draw from torch's generator (inductor's own gave
    other spikes under one seed: other numbers)."""
    quick = ("encoding=poisson", "train.epochs=1", "trainer.limit_test_batches=1", "eps=[32]")
    eager = run_job(*quick, "method=[fgsm]", out="eager")
    torch._dynamo.reset()
    compiled = run_job(*quick, "method=[fgsm]", "compile=true", out="compiled")
    assert compiled["results"][0]["asr"] == eager["results"][0]["asr"]
    assert compiled["source_clean_acc"] == eager["source_clean_acc"]


def test_a_digits_job_gives_the_same_numbers_on_the_torch_backend(tmp_path) -> None:
    """``backend`` changes only the time: the job of the CPU paths (training, attacks) and the
    torch ops' give the same weights and the same record, number for number."""
    records, weights = {}, {}
    for backend in BACKENDS:
        out = tmp_path / backend
        out.mkdir()
        cfg = job_cfg(tmp_path / backend / "models", "train.epochs=1", f"backend={backend}")
        records[backend] = run(cfg, out)
        (checkpoint,) = (tmp_path / backend / "models").rglob("model.pt")
        weights[backend] = torch.load(checkpoint, weights_only=False)["state_dict"]
    assert records["c"].clean_acc > 20 and records["c"].results[0].asr > 0
    assert records["c"].clean_acc == records["torch"].clean_acc
    assert records["c"].results == records["torch"].results
    assert weights["c"].keys() == weights["torch"].keys()
    for key, value in weights["c"].items():
        assert torch.equal(value, weights["torch"][key]), key


@pytest.mark.parametrize(
    ("target", "source", "boxes", "overrides", "compiled"),
    [
        # an ANN of this package's under the default train.kind=stbp: it crafts with its own
        # autograd, so nothing needs the eager model (the note said RGA ran eager)
        ("relu", None, ["white"], (), True),
        # a spiking network labelled train.kind=ann: RGA differentiates it, eager (no note said)
        ("lif", None, ["white"], ("train.kind=ann",), False),
        # the black box's rows crafted on an ANN source beside a spiking target
        ("lif", "relu", ["black"], (), True),
        ("relu", "lif", ["black"], ("train.kind=ann",), False),
    ],
)
def test_the_apis_compile_note_judges_the_networks_passed_as_the_attacks_do(
    target: str,
    source: str | None,
    boxes: list[str],
    overrides: tuple[str, ...],
    compiled: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``snnattack.evaluate`` with ``compile=true`` and RGA: whether the attacked copies are
    compiled follows the networks passed (:func:`~snnattack.attacks.crafting.ann_boxes`,
    which looks for spiking layers), and the record's notes judged them by ``train.kind``,
    which only labels a network passed: an ANN under the default ``stbp`` was noted as run
    eager while its copy compiled, and a spiking network labelled ``ann`` compiled no copy
    with no note. The notes now judge the networks as the attacks do (nothing is compiled
    here: the copies are made as ``compile=false`` makes them)."""
    made = []

    def uncompiled(*args, fold_bn: bool, compiled: bool):
        made.append(compiled)
        return attacked_models(*args, fold_bn=fold_bn, compiled=False)

    monkeypatch.setattr(attacked, "attacked_models", uncompiled)

    def net(activation: str) -> nn.Module:
        spiking = activation == "lif"
        return build("digits_net", 10, in_channels=1, T=2 if spiking else 1, activation=activation)

    torch.manual_seed(0)
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    record = snnattack.evaluate(
        net(target), (x, y), eps=[8], methods=["fgsm"], grad_mode="rga", boxes=boxes,
        source=None if source is None else net(source), masking=False, progress=False,
        overrides=["compile=true", *overrides],
    )  # fmt: skip
    assert made == [compiled]
    assert [r.grad_mode for r in record.results] == ["ann-autograd" if compiled else "rga"]
    eager = [line for line in record.notes if line.startswith(EAGER)]
    assert len(eager) == (0 if compiled else 1)
    unread = [line.split(" (")[0] for line in record.notes if line.startswith("attack=rga is")]
    # the ANN the rows craft on, named as passed (its train.kind only labels it)
    box = "the target" if boxes == ["white"] else "the black-box source"
    assert unread == ([f"attack=rga is not read by {box} passed"] if compiled else [])
