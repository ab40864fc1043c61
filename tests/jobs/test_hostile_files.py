"""Nothing in a store or a model file is trusted: a planted pickle never runs at any path the
tool reads, and a model with a NaN or infinite weight is refused wherever it enters."""

import json
import pickle
from pathlib import Path

import pytest
import torch
from harness import QUICK, QUIET, RunsCode, cli, compose, sweep_metrics
from torch import nn

from snnattack.errors import CheckpointError
from snnattack.evaluation import examples
from snnattack.models import build
from snnattack.records.checkpoints import RefusedFile, load_model_file, load_tensors, require_finite
from snnattack.records.store import CHECKPOINT, RESUME_FILE, ModelStore
from snnattack.training import fit
from snnattack.training.fit import _epochs_done
from snnattack.training.parse import model_settings
from snnattack.training.trained import build_model


@pytest.fixture
def plant(tmp_path: Path):
    """``plant(path)`` writes a torch file at ``path`` whose pickle runs a command; the
    command's marker file is checked to work (a trusting load creates it) and returned."""
    marker = tmp_path / "code-ran"

    def write(path: Path, **fields) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"epoch": RunsCode(marker), "state_dict": {}, "record": {}, **fields}, path)
        torch.load(path, weights_only=False)  # the planted file is live: loading it runs code
        assert marker.exists()
        marker.unlink()
        return marker

    return write


REFUSAL = "needs posix.system, which is not a tensor or plain value: refused without loading it"


def linear() -> nn.Module:
    return nn.Linear(3, 2)


def test_a_planted_resume_file_is_refused_naming_it_and_never_runs(tmp_path, plant) -> None:
    store = ModelStore(tmp_path / "models")
    resume = store.workdir({"seed": 0}) / RESUME_FILE
    marker = plant(resume)
    with pytest.raises(CheckpointError) as err:
        store.get_or_train({"seed": 0}, linear, lambda _: pytest.fail("trained"))
    assert str(err.value) == (
        f"resume file {resume} {REFUSAL} (a pickle that would run code); delete it to train "
        "this model from scratch"
    )
    with pytest.raises(RefusedFile):  # training's own reads are weights-only too
        _epochs_done(resume)
    assert resume.exists() and not marker.exists()


def test_a_planted_stored_model_is_refused_naming_it_and_never_runs(tmp_path, plant) -> None:
    store = ModelStore(tmp_path / "models")
    store.get_or_train({"seed": 0}, linear, lambda _: (linear(), {}))
    path = store.path({"seed": 0}) / CHECKPOINT
    marker = plant(path)
    with pytest.raises(CheckpointError, match=f"^checkpoint {path} {REFUSAL}"):
        store.get_or_train({"seed": 0}, linear, lambda _: pytest.fail("trained"))
    assert not marker.exists()


@pytest.mark.parametrize("key", ["checkpoint", "source_checkpoint"])
def test_a_planted_model_file_is_refused_in_one_line_and_never_runs(
    tmp_path, plant, key: str
) -> None:
    marker = plant(tmp_path / "model.pt", **{"pytorch-lightning_version": "2.6.0"})
    done = cli(*QUICK, f"{key}={tmp_path / 'model.pt'}", f"store.dir={tmp_path}/m", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr
        == f"error: {key}={tmp_path / 'model.pt'}: {REFUSAL} (a pickle that would run code)\n"
    )
    assert not marker.exists()


def test_planted_examples_are_refused_and_never_run(tmp_path, plant) -> None:
    marker = plant(tmp_path / "adv_fgsm_32_white.pt")
    with pytest.raises(RefusedFile, match="posix.system"):
        examples.load(tmp_path / "adv_fgsm_32_white.pt")
    with pytest.raises(RefusedFile, match="posix.system"):
        load_tensors(tmp_path / "adv_fgsm_32_white.pt")
    assert not marker.exists()


@pytest.mark.slow
def test_planted_rows_and_run_files_of_a_relaunched_sweep_never_run(tmp_path, plant) -> None:
    """The rows (``.rows/*.json``) are read as JSON: a pickle there is an unreadable row,
    computed again. Examples and W&B files in a job folder are never read back."""
    args = [
        "-m", *QUIET, "train.epochs=1", "eps=[32]", "method=[fgsm]",
        "train.adversary.grad_mode=stbp,rga", f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]  # fmt: skip
    assert cli(*args, cwd=tmp_path).returncode == 0
    first = sweep_metrics(tmp_path / "sweep")
    assert first[1]["results"][0]["reused_from"] == "0"
    rows = sorted((tmp_path / "sweep" / ".rows").glob("*.json"))
    job = tmp_path / "sweep" / "1"
    planted = [
        *rows,
        job / "adv_fgsm_32_white.pt",
        job / "wandb" / "offline-run-1" / "run-1.wandb",
        job / "wandb" / "offline-run-1" / "files" / "wandb-summary.json",
        job / "wandb" / "offline-run-1" / "files" / "config.yaml",
    ]
    markers = {plant(path) for path in planted}
    (job / "metrics.json").unlink()  # job 1 runs again and looks for job 0's rows
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    again = sweep_metrics(tmp_path / "sweep")
    assert [r["reused_from"] for r in again[1]["results"]] == [None, None]  # recomputed
    assert [r["asr"] for r in again[1]["results"]] == [r["asr"] for r in first[1]["results"]]
    assert not any(m.exists() for m in markers)
    assert all(json.loads(p.read_text())["reused_from"] for p in rows)  # kept again, as JSON


def nan_at(state: dict, name: str) -> dict:
    state = {k: v.clone() for k, v in state.items()}
    state[name].view(-1)[0] = float("nan")
    return state


@pytest.mark.parametrize("key", ["checkpoint", "source_checkpoint"])
@pytest.mark.parametrize("kind", ["store", "lightning", "reference"])
def test_a_model_file_with_one_nan_weight_is_refused_naming_the_tensor(
    tmp_path, key: str, kind: str
) -> None:
    model = build("digits_net", num_classes=10, in_channels=1, T=2)
    name = next(k for k in model.state_dict() if k.endswith("weight"))
    state = nan_at(model.state_dict(), name)
    payload, shown = {
        "store": ({"state_dict": state, "record": {}}, name),
        "lightning": (
            {
                "state_dict": {f"model.{k}": v for k, v in state.items()},
                "pytorch-lightning_version": "2.6.0",
            },
            f"model.{name}",
        ),
        "reference": (state, name),
    }[kind]
    torch.save(payload, tmp_path / "nan.pt")
    fresh = build("digits_net", num_classes=10, in_channels=1, T=2)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        load_model_file(tmp_path / "nan.pt", fresh, key)
    assert str(err.value) == (
        f"{key}={tmp_path / 'nan.pt'} has non-finite (NaN or inf) weights in {shown}; "
        "accepted: a model whose weights and buffers are all finite"
    )
    assert all(torch.equal(before[k], v) for k, v in fresh.state_dict().items())  # not loaded


def test_require_finite_names_the_first_non_finite_parameter_or_buffer() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    require_finite(model, "model")  # finite: nothing to say
    model[1].running_var[1] = float("inf")
    with pytest.raises(CheckpointError, match=r"^adapter x has non-finite \(NaN or inf\) "
                       r"weights in 1\.running_var; load another file$"):  # fmt: skip
        require_finite(model, "adapter x", "load another file")
    model[0].weight.data[0, 0, 0, 0] = float("-inf")
    with pytest.raises(CheckpointError, match=r"weights in 0\.weight;"):
        require_finite(model.state_dict(), "model")
    require_finite({"num_batches_tracked": torch.tensor(3)}, "integers are never NaN")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_require_finite_refuses_a_non_finite_value_of_any_float_dtype(
    dtype: torch.dtype, value: float
) -> None:
    """Each value is read off its tensor's norm (a half-precision one's float32 sum): a NaN or
    infinite one among finite ones is refused, named, in every floating dtype."""
    state = {"a": torch.ones(5, dtype=dtype), "b": torch.ones(7, dtype=dtype)}
    state["b"][3] = value
    with pytest.raises(CheckpointError, match=r"non-finite \(NaN or inf\) weights in b;"):
        require_finite(state, "model")


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_require_finite_passes_finite_weights_whose_norm_overflows(dtype: torch.dtype) -> None:
    """Finite weights whose norm (or float32 sum) overflows are finite: the exact check
    after the norms decides."""
    big = torch.finfo(dtype).max
    require_finite({"w": torch.full((64,), big / 2, dtype=dtype)}, "model")
    require_finite({"w": torch.full((8,), 3e38 if dtype == torch.float32 else big)}, "model")


def test_require_finite_writes_no_mask_of_finite_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finite weights are checked off their norms, one per device and dtype: no ``isfinite``
    mask as large as the weights (0.66 s of the 0.68 s of a ``gradient_mode`` block on
    spikingjelly's VGG-11 on one CPU thread), which only a failed check writes to name the
    tensor."""
    masks: list[tuple[int, ...]] = []
    isfinite = torch.Tensor.isfinite
    monkeypatch.setattr(
        torch.Tensor, "isfinite", lambda t: masks.append(tuple(t.shape)) or isfinite(t)
    )
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 4).double())
    require_finite(model, "model")
    assert masks == [(6,), (2,)]  # of the stacked norms: 6 float32 tensors, 2 float64 ones
    model[0].weight.data[0, 0, 0, 0] = float("nan")
    with pytest.raises(CheckpointError, match=r"weights in 0\.weight;"):
        require_finite(model, "model")


def test_lightnings_own_resume_read_is_weights_only_too(tmp_path, plant, monkeypatch) -> None:
    """Past the store's check (another DDP rank, a file swapped meanwhile), Lightning's read of
    the resume file is weights-only as well."""
    cfg = compose(*QUIET, "trainer.accelerator=cpu", "logger=csv", "trainer.limit_train_batches=2")
    marker = plant(tmp_path / "work" / RESUME_FILE)
    monkeypatch.setattr(fit, "_epochs_done", lambda _: 1)
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL posix.system"):
        fit.fit(
            model_settings(cfg),
            build_model(model_settings(cfg)),
            tmp_path / "work",
            fit.TrainContext(0, {}, []),
        )
    assert not marker.exists()
