"""Models from files: this project's store and Lightning files and the RGA reference code's
state dicts load into the configured model with the same logits; misfits are refused clearly."""

from __future__ import annotations

import json
import pickle
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import harness
import pytest
import torch
from fixtures_dvs import write_cifar10_dvs
from harness import QUICK, compose

from snnattack.data import DATAMODULES
from snnattack.errors import CheckpointError
from snnattack.models import build
from snnattack.models.reference import namings
from snnattack.records.checkpoints import (
    REFERENCE_MEAN,
    REFERENCE_STD,
    load_model_file,
    require_whole,
)
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key
from snnattack.training.trained import load_from_file

# The reference code's module names (putshua/SNN_attack_RGA, models/VGG.py and ResNet.py)
REF_VGG11 = [[64, "A"], [128, 256, "A"], [512, 512, 512, "A"], [512, 512], []]


def reference_vgg_names() -> list[tuple[str, str]]:
    """(kind, prefix) of every parametrised layer of the reference VGG-11, in its order."""
    names = []
    for i, layer in enumerate(REF_VGG11, start=1):
        j = 0
        for item in layer:
            if item == "A":
                j += 1
                continue
            names += [("conv", f"layer{i}.{j}"), ("bn", f"layer{i}.{j + 1}")]
            j += 3  # conv, BN, LIFSpike
    return names + [("linear", f"classifier.{k}") for k in (1, 3, 5)]


def reference_resnet17_names() -> list[tuple[str, str]]:
    names = [("conv", "pre_conv.fwd.0"), ("bn", "pre_conv.fwd.1")]
    for stage, blocks in (("layer1", 3), ("layer2", 4)):
        for b in range(blocks):
            convs = ["conv1", "conv2"] + (["right"] if b == 0 else [])
            for c in convs:
                names += [("conv", f"{stage}.{b}.{c}.fwd.0"), ("bn", f"{stage}.{b}.{c}.fwd.1")]
    return names + [("linear", "fc1.0"), ("bn", "fc1.1"), ("linear", "fc2")]


def spiking_model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build(name, num_classes=10, in_channels=3, T=2, mean=[0.5] * 3, std=[0.25] * 3)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.bias.data.fill_(1.0)
        elif isinstance(m, torch.nn.Linear):
            m.bias.data.uniform_(0.5, 1.5)
    return model.double().eval()


def as_reference(model: torch.nn.Module, names: list[tuple[str, str]], conv_bias: bool) -> dict:
    """The model's weights under the reference's names; VGG convs get a bias folded out of BN."""
    ours = [(k, v) for k, v in model.state_dict().items() if not k.startswith("normalize.")]
    layers: dict[str, dict] = {}
    for key, value in ours:
        prefix, _, leaf = key.rpartition(".")
        layers.setdefault(prefix, {})[leaf] = value.clone()
    assert len(layers) == len(names)
    out, bias = {}, None
    for (kind, ref), group in zip(names, layers.values(), strict=True):
        if kind == "conv" and conv_bias:
            bias = torch.randn(group["weight"].shape[0], dtype=group["weight"].dtype)
            group["bias"] = bias
        if kind == "bn" and bias is not None:
            group["running_mean"] = group["running_mean"] + bias
            bias = None
        out.update({f"{ref}.{leaf}": v for leaf, v in group.items()})
    return out


def shuffled(state: dict) -> dict:
    """``state``'s keys in a seeded random order: a reference file is read by its names."""
    keys = list(state)
    order = torch.randperm(len(keys), generator=torch.Generator().manual_seed(0)).tolist()
    return {keys[i]: state[keys[i]] for i in order}


@pytest.mark.parametrize(
    "name, names, conv_bias",
    [
        pytest.param("vgg11", reference_vgg_names(), True, marks=pytest.mark.slow),  # 5 s
        ("resnet17", reference_resnet17_names(), False),  # RGA's: fc2 a bare Linear
        ("resnet17", [*reference_resnet17_names()[:-1], ("linear", "fc2.0")], False),  # SNN-RAT's
    ],
    ids=["vgg11", "resnet17 RGA", "resnet17 SNN-RAT"],
)
def test_reference_state_dict_gives_the_same_logits(tmp_path: Path, name, names, conv_bias) -> None:
    model = spiking_model(name)
    path = tmp_path / "ref.pth"
    state = as_reference(model, names, conv_bias)
    torch.save(shuffled({f"module.{k}": v for k, v in state.items()}), path)
    loaded = spiking_model(name)
    for p in loaded.parameters():
        p.data.zero_()
    record = load_model_file(path, loaded, namings=namings(name, loaded))
    assert record["format"] == "reference" and record["normalization"]["std"] == REFERENCE_STD
    model.normalize.mean.copy_(torch.tensor(REFERENCE_MEAN).view(-1, 1, 1))
    model.normalize.std.copy_(torch.tensor(REFERENCE_STD).view(-1, 1, 1))
    x = torch.rand(4, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        expected, got = model(x), loaded.double()(x)
    assert expected.std(0).sum() > 0  # the logits depend on the input: spikes reach the read-out
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)


def test_store_and_lightning_files_load_strictly(tmp_path: Path) -> None:
    model = build("digits_net", num_classes=10, in_channels=1, T=2)
    state = model.state_dict()
    torch.save({"state_dict": state, "record": {"seed": 3}}, tmp_path / "model.pt")
    torch.save(
        {
            "state_dict": {f"model.{k}": v for k, v in state.items()},
            "pytorch-lightning_version": "2.6.0",
            "epoch": 1,
        },
        tmp_path / "best.ckpt",
    )
    for file, kind in (("model.pt", "store"), ("best.ckpt", "lightning")):
        fresh = build("digits_net", num_classes=10, in_channels=1, T=2)
        record = load_model_file(tmp_path / file, fresh)
        assert record["format"] == kind
        assert all(torch.equal(fresh.state_dict()[k], v) for k, v in state.items())
    assert load_model_file(tmp_path / "model.pt", model)["seed"] == 3


def test_a_file_that_does_not_fit_names_the_first_mismatching_key(tmp_path: Path) -> None:
    names = reference_vgg_names()
    state = as_reference(spiking_model("vgg11"), names, conv_bias=True)
    state["layer2.0.weight"] = torch.zeros(7, 64, 3, 3, dtype=torch.float64)
    torch.save(state, tmp_path / "bad.pth")
    vgg = spiking_model("vgg11")
    with pytest.raises(CheckpointError, match=r"key layer2\.0\.weight \(\(7, 64, 3, 3\)\)"):
        load_model_file(tmp_path / "bad.pth", vgg, namings=namings("vgg11", vgg))
    digits = build("digits_net", num_classes=10, in_channels=1, T=2)
    torch.save({"state_dict": {"extra.weight": torch.zeros(1)}, "record": {}}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=r"missing key 'body\.0\.module\.weight'"):
        load_model_file(tmp_path / "x.pt", digits)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as err:
        load_model_file(tmp_path / "junk.pt", digits)
    assert str(err.value) == (
        f"checkpoint={tmp_path / 'junk.pt'} is missing, corrupt or unreadable (not a file that "
        "torch.save writes: neither a zip archive nor a pickle); accepted: a whole file saved "
        "by torch.save (a store model.pt, a Lightning .ckpt, the model's own state dict or a "
        "reference code's)"
    )
    torch.save(digits.state_dict(), tmp_path / "whole.pt")  # cut short, as a copy stopped
    (tmp_path / "cut.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:1000])
    (tmp_path / "empty.pt").write_bytes(b"")
    for name, why in [
        ("cut", "a zip archive cut short: a copy or download that did not finish?"),
        ("empty", "an empty file"),
    ]:
        with pytest.raises(CheckpointError, match=rf"{name}\.pt is missing, corrupt or unr"):
            load_model_file(tmp_path / f"{name}.pt", digits)
        with pytest.raises(CheckpointError, match=re.escape(f"unreadable ({why}); accepted")):
            load_model_file(tmp_path / f"{name}.pt", digits)


@pytest.mark.parametrize("protocol", [4, 5])
def test_a_state_dict_saved_by_pickle_dump_is_refused_as_such_in_one_line(
    tmp_path: Path, protocol: int
) -> None:
    """A state dict saved with ``pickle.dump`` (Python's protocol 4 or 5) was refused with
    torch's 'Weights only load failed. In PyTorch 2.6, we changed ...' cut mid-word, after
    torch's two-line warning about the protocol; a job refuses it with its config's checks."""
    digits = build("digits_net", num_classes=10, in_channels=1, T=2)
    path = tmp_path / "pickled.pt"
    with path.open("wb") as file:
        pickle.dump(digits.state_dict(), file, protocol=protocol)
    why = (
        f"a pickle of protocol {protocol}, as pickle.dump writes it, which torch's weights-only "
        "reader does not read: save the file again with torch.save"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's warning of the protocol was printed
        with pytest.raises(CheckpointError) as err:
            load_model_file(path, digits)
        with pytest.raises(CheckpointError) as checked:
            require_whole(path, "checkpoint")
    assert (
        str(err.value)
        == str(checked.value)
        == (
            f"checkpoint={path} is missing, corrupt or unreadable ({why}); accepted: a whole file "
            "saved by torch.save (a store model.pt, a Lightning .ckpt, the model's own state dict "
            "or a reference code's)"
        )
    )


def test_a_state_dict_of_another_network_names_its_key_and_what_is_accepted(
    tmp_path: Path,
) -> None:
    """A linear layer's state dict was refused as 'reference key .weight is not a name of
    ...': a key it does not hold (the leading dot), and no accepted files."""
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "linear.pt")
    digits = build("digits_net", num_classes=10, in_channels=1, T=2)
    with pytest.raises(CheckpointError) as err:
        load_model_file(tmp_path / "linear.pt", digits, namings=namings("digits_net", digits))
    assert str(err.value) == (
        f"checkpoint={tmp_path / 'linear.pt'}: reference key weight is not a name of a "
        "digits-sized VGG of RGA and SNN-RAT (its names are such as layer1.0.weight; a "
        "'module.' prefix is allowed); accepted: a file of the configured architecture, "
        "classes and input channels"
    )


def test_a_store_file_given_another_encoding_or_surrogate_than_its_training_is_refused(
    run_job: Callable, digits_store: Path
) -> None:
    """A file trained with the triangle's half-width 1 attacked with train.surrogate_width=0.5
    (its STBP gradient silently another), or trained on direct input and attacked through a
    Poisson or quantising encoding, was accepted, and its rows named settings it never had."""
    a = run_job(*QUICK, "boxes=[white]", out="a")
    model_file = digits_store / a["models"]["target"]["key"] / "model.pt"
    for given, file_s in (
        ("train.surrogate_width=0.5", "train.surrogate_width=1.0"),
        ("encoding=poisson", "encoding=direct"),
        ("encoding_levels=8", "encoding_levels=null"),
    ):
        with pytest.raises(CheckpointError) as err:
            load_from_file(model_settings(compose(*QUICK, given)), str(model_file))
        assert str(err.value) == (
            f"checkpoint={model_file} was trained with {file_s} (its record's spec), but the "
            f"config runs it with {given}; accepted: {file_s}, the file's"
        )
    with pytest.raises(CheckpointError) as err:  # a source file is built as the target
        settings = model_settings(compose(*QUICK, "encoding=poisson"))
        load_from_file(settings, str(model_file), "source_checkpoint")
    assert str(err.value).endswith(
        "accepted: a file trained with encoding=poisson, the target's (it is built as the target)"
    )
    # an ANN has no surrogate (it is attacked by autograd): its file loads at any width
    ann = run_job(*QUICK, "boxes=[white]", "train.kind=ann", out="ann")
    ann_file = digits_store / ann["models"]["target"]["key"] / "model.pt"
    load_from_file(
        model_settings(compose(*QUICK, "train.kind=ann", "train.surrogate_width=0.5")),
        str(ann_file),
    )
    # another architecture: refused as a weight's missing key, not the model it holds
    with pytest.raises(CheckpointError) as err:
        load_from_file(model_settings(compose(*QUICK, "model=digits_resnet")), str(model_file))
    assert str(err.value) == (
        f"checkpoint={model_file} holds a model=digits_net (its record's spec.model), but the "
        "config builds model=digits_resnet; accepted: model=digits_net, the file's"
    )


@pytest.mark.parametrize(
    ("trained", "given"),
    [
        ("event_encoding=binary", "event_encoding=counts"),
        ("split_by=time", "split_by=number"),
        ("size=8", "size=6"),
        ("count_scale=4.0", "count_scale=2.0"),  # the scaled frames' unit: one event in 4, in 2
        # the simulated sensor that records the digits' events: accepted without a word
        ("threshold=0.4", "threshold=0.1"),
        ("noise_rate=1.0", "noise_rate=200.0"),
        ("event_seed=0", "event_seed=1"),
    ],
)
def test_an_event_model_file_framed_otherwise_than_its_training_is_refused(
    tmp_path: Path, trained: str, given: str
) -> None:
    """A model trained on binary frames by time attacked on counts, frames of equal event
    numbers or another frame size ran on inputs it never saw, its accuracy and robustness
    another model's; only the params of the test split were checked."""
    scaled = ["dataset=digits_events", "encoding=frames", "dataset.params.event_encoding=scaled"]
    record_of = model_settings(compose(*QUICK, *scaled, f"dataset.params.{trained}"))
    model_file = tmp_path / "model.pt"
    torch.save({"state_dict": {}, "record": {"spec": store_key(record_of, 0)}}, model_file)
    with pytest.raises(CheckpointError) as err:
        settings = model_settings(compose(*QUICK, *scaled, f"dataset.params.{given}"))
        load_from_file(settings, str(model_file))
    assert str(err.value) == (
        f"checkpoint={model_file} was trained on digits_events with dataset.params.{trained} "
        "(its record's spec.dataset), but the config makes its inputs with "
        f"dataset.params.{given}, which it never saw; accepted: dataset.params.{trained}, the "
        "file's"
    )


def test_a_cifar10_dvs_model_file_trained_on_another_set_of_recordings_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its test split is drawn over the recordings present: with one more (or fewer) it holds
    recordings the file was trained on, which were attacked as unseen."""
    write_cifar10_dvs(tmp_path / "data", per_class=3, n_events=50)
    monkeypatch.setenv("SNNATTACK_DATA", str(tmp_path / "data"))
    dvs = ["dataset=cifar10_dvs", "model=dvs_vgg"]
    model_file = tmp_path / "model.pt"
    torch.save(
        {"state_dict": {}, "record": {"spec": store_key(model_settings(compose(*dvs)), 0)}},
        model_file,
    )
    (tmp_path / "data" / "CIFAR10DVS" / "dog" / "cifar10_dog_2.aedat4").unlink()
    with pytest.raises(CheckpointError) as err:
        load_from_file(model_settings(compose(*dvs)), str(model_file))
    assert str(err.value) == (
        f"checkpoint={model_file} was trained on another set of cifar10_dvs recordings than "
        f"those under dataset.params.root={tmp_path / 'data'} (its record's spec.recordings): "
        "the test split is drawn over the recordings present, and this one may hold "
        "recordings it was trained on; accepted: the recordings it was trained on, or a "
        "model trained on these"
    )
    monkeypatch.setenv("SNNATTACK_DATA", str(tmp_path / "typo"))  # no data: the data's line
    with pytest.raises(CheckpointError, match="does not fit the configured model"):
        load_from_file(model_settings(compose(*dvs)), str(model_file))


def test_a_cifar10_dvs_model_file_of_other_bytes_is_refused_and_an_older_one_held_to_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other recordings of the same names and sizes (rewritten in place: denoised, recorded
    again) are another set. A file made before 2026-12-06 holds the fingerprint of the
    recordings' names and sizes alone: it is held to those, not refused for lacking their
    bytes."""
    write_cifar10_dvs(tmp_path / "data", per_class=3, n_events=50)
    monkeypatch.setenv("SNNATTACK_DATA", str(tmp_path / "data"))
    dvs = ["dataset=cifar10_dvs", "model=dvs_vgg"]
    spec = store_key(model_settings(compose(*dvs)), 0)
    older = {
        **spec,
        "recordings": DATAMODULES["cifar10_dvs"].drawn_over(
            {"root": str(tmp_path / "data")}, contents=False
        ),
    }
    model_file, older_file = tmp_path / "model.pt", tmp_path / "older.pt"
    torch.save({"state_dict": {}, "record": {"spec": spec}}, model_file)
    torch.save({"state_dict": {}, "record": {"spec": older}}, older_file)
    with pytest.raises(CheckpointError, match="does not fit the configured model"):
        load_from_file(model_settings(compose(*dvs)), str(older_file))  # past the check
    for path in sorted((tmp_path / "data").rglob("*.aedat4")):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF  # other bytes, the same size
        path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="trained on another set of cifar10_dvs"):
        load_from_file(model_settings(compose(*dvs)), str(model_file))
    with pytest.raises(CheckpointError, match="does not fit the configured model"):
        load_from_file(model_settings(compose(*dvs)), str(older_file))  # sizes alone


def test_count_scale_of_binary_frames_is_not_compared(tmp_path: Path) -> None:
    """Binary frames do not read ``count_scale``: a file trained on them is not refused for
    another (the framing check passes; its empty weights are what is refused)."""
    binary = ["dataset=digits_events", "encoding=frames", "dataset.params.event_encoding=binary"]
    model_file = tmp_path / "model.pt"
    spec = store_key(model_settings(compose(*QUICK, *binary)), 0)
    torch.save({"state_dict": {}, "record": {"spec": spec}}, model_file)
    other = model_settings(compose(*QUICK, *binary, "dataset.params.count_scale=2"))
    with pytest.raises(CheckpointError, match="does not fit the configured model: missing key"):
        load_from_file(other, str(model_file))


def test_a_store_and_a_model_file_under_home_written_with_a_tilde_are_home_s(
    tmp_path: Path, digits_store: Path
) -> None:
    """``store.dir='~/store'`` made a folder named ``~`` in the working folder (while Lightning
    wrote its .partial under the real home), and ``checkpoint='~/...'`` was "not a file": a
    path of the config is read as a shell reads one. Unquoted, Hydra's grammar refuses the
    ``~``, and the line says how to quote it."""
    home = tmp_path / "home"
    harness.run_job(*QUICK, "boxes=[white]", output_dir=tmp_path / "first", store=digits_store)
    shutil.copytree(digits_store, home / "store")  # holding the model the jobs below reuse
    quick, env = [*harness.QUIET, *QUICK, "boxes=[white]"], {"HOME": str(home)}

    def job(*overrides: str, out: str) -> dict:
        args = [*quick, *overrides, f"hydra.run.dir={tmp_path / out}"]
        done = harness.cli(*args, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((tmp_path / out / "metrics.json").read_text())

    a = job("store.dir='~/store'", out="a")
    assert a["models"]["target"]["cached"] and not (tmp_path / "~").exists()
    assert sorted(p.name for p in (home / "store").iterdir()) == sorted(
        p.name for p in digits_store.iterdir()
    )  # reused, nothing trained or left beside it
    model_file = f"~/store/{a['models']['target']['key']}/model.pt"
    b = job(f"checkpoint='{model_file}'", f"store.dir={tmp_path / 'none'}", out="b")
    assert b["results"] == a["results"] and not (tmp_path / "none").exists()
    assert b["models"]["target"]["checkpoint"] == str(home / model_file[2:])
    unquoted = harness.cli(*quick, "store.dir=~/store", cwd=tmp_path, env=env)
    assert (
        unquoted.returncode == 2
        and "or a path from your home: store.dir='~/store'"
        in (unquoted.stderr.strip().splitlines()[-1])
    )


def test_run_attacks_a_model_file_with_the_numbers_of_the_stored_model(
    tmp_path: Path, run_job: Callable, cli: Callable, digits_store: Path
) -> None:
    quick = [*QUICK, "boxes=[white]"]
    a = run_job(*quick, out="a")
    model_file = digits_store / a["models"]["target"]["key"] / "model.pt"
    b = run_job(*quick, f"checkpoint={model_file}", out="b", store=tmp_path / "empty")
    assert b["results"] == a["results"] and b["clean_acc"] == a["clean_acc"]
    assert b["models"]["target"]["format"] == "store"
    assert b["models"]["target"]["checkpoint"] == str(model_file)
    assert not (tmp_path / "empty").exists()  # nothing trained
    missing = cli(*quick, "checkpoint=/nonexistent/model.pt", f"hydra.run.dir={tmp_path}/c")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1] == (
        "error: checkpoint='/nonexistent/model.pt' is not a file; accepted: null or the path of "
        "a model file (a store model.pt, a Lightning .ckpt, the model's own state dict or a "
        "reference code's)"
    )
    # the store file's neurons are its record's: attacked as another model, it is refused
    with pytest.raises(CheckpointError) as err:  # the job's load, before any work
        load_from_file(model_settings(compose(*quick, "lambda=0.5", "T=8")), str(model_file))
    assert str(err.value) == (
        f"checkpoint={model_file} was trained with T=4, lambda=1.0 (its record's spec), but "
        "the config runs it with T=8, lambda=0.5; accepted: T=4 lambda=1.0, the file's (a "
        "longer simulation at attack time: attack.time_extension)"
    )
    with pytest.raises(CheckpointError) as err:  # T's alone is what time_extension lengthens
        load_from_file(model_settings(compose(*quick, "lambda=0.5")), str(model_file))
    assert str(err.value).endswith(
        "but the config runs it with lambda=0.5; accepted: lambda=1.0, the file's"
    )
    with pytest.raises(CheckpointError) as err:  # a source file is built as the target
        settings = model_settings(compose(*quick, "lambda=0.5"))
        load_from_file(settings, str(model_file), "source_checkpoint")
    assert str(err.value).endswith(
        "accepted: a file trained with lambda=0.5, the target's (it is built as the target)"
    )
    with pytest.raises(CheckpointError) as err:  # an STBP network attacked as an ANN's
        load_from_file(model_settings(compose(*quick, "train.kind=ann")), str(model_file))
    assert str(err.value) == (
        f"checkpoint={model_file} was trained as train.kind=stbp (its record's spec.train), but "
        "the config attacks it as train.kind=ann; accepted: train.kind=stbp, the file's"
    )
    # another adversary than the file's: its rows and table would name a training it never had
    with pytest.raises(CheckpointError) as err:
        fgsm = model_settings(compose(*quick, "train.adversary.method=fgsm"))
        load_from_file(fgsm, str(model_file))
    assert str(err.value) == (
        f"checkpoint={model_file} was trained without an adversary (its record's spec.train), "
        "but the config says train.adversary.method=fgsm; accepted: "
        "train.adversary.method=null, the file's"
    )
    pgd = ["train.adversary.method=pgd", "train.adversary.eps=4", "train.adversary.steps=3"]
    payload = torch.load(model_file, weights_only=True)  # the record of a PGD-trained model
    trained = store_key(model_settings(compose(*quick, *pgd)), 0)["train"]["adversary"]
    payload["record"]["spec"]["train"]["adversary"] = trained
    torch.save(payload, tmp_path / "pgd.pt")
    for given, said in (
        (["train.adversary.method=fgsm"], "train.adversary.method=fgsm"),
        ([*pgd, "train.adversary.eps=8"], "train.adversary.eps=8"),
    ):
        with pytest.raises(CheckpointError) as err:
            load_from_file(model_settings(compose(*quick, *given)), str(tmp_path / "pgd.pt"))
        assert str(err.value).startswith(
            f"checkpoint={tmp_path / 'pgd.pt'} was trained with train.adversary.method=pgd"
        ) and f"but the config says {said}; accepted: " in str(err.value)
    assert str(err.value).endswith(  # the setting it differs in
        "accepted: train.adversary.eps=4, the file's, or train.adversary.method=null (its "
        "record names its adversary)"
    )
    load_from_file(model_settings(compose(*quick)), str(tmp_path / "pgd.pt"))  # the record's
    load_from_file(model_settings(compose(*quick, *pgd)), str(tmp_path / "pgd.pt"))  # as trained
    # tested on another split of its dataset: the test split may hold its training images
    with pytest.raises(CheckpointError) as err:
        load_from_file(
            model_settings(compose(*quick, "dataset.params.split_seed=3")), str(model_file)
        )
    assert str(err.value) == (
        f"checkpoint={model_file} was trained on digits with dataset.params.split_seed=0 (its "
        "record's spec.dataset), but the config tests it with dataset.params.split_seed=3, "
        "whose test split may hold samples it was trained on; accepted: "
        "dataset.params.split_seed=0, the file's"
    )
    settings = model_settings(compose(*quick, "dataset.params.val_fraction=0.2"))
    load_from_file(settings, str(model_file))  # the test split is the same: taken
    load_from_file(model_settings(compose(*quick)), str(model_file))  # as it was trained


def test_a_black_box_source_that_is_the_target_itself_is_refused(
    tmp_path: Path, run_job: Callable, cli: Callable, digits_store: Path
) -> None:
    """Its black-box rows equalled the white-box ones, as source_seed_offset=0 would make."""
    a = run_job(*QUICK, out="a")
    source_file = digits_store / a["models"]["source"]["key"] / "model.pt"
    target_file = digits_store / a["models"]["target"]["key"] / "model.pt"
    plain = tmp_path / "own" / "sd.pt"  # a state dict of no store record, twice
    plain.parent.mkdir()
    torch.save(torch.load(target_file, weights_only=True)["state_dict"], plain)
    shutil.copy(plain, tmp_path / "copy.pt")
    for given in (  # the store's source seed as the target; one file for both
        [f"checkpoint={source_file}"],
        [f"checkpoint={target_file}", f"source_checkpoint={target_file}"],
        # one file spelt two ways, and a copy of it: it ran, its black-box rows white-box ones
        [f"checkpoint={plain}", f"source_checkpoint={plain.parent}/../own/sd.pt"],
        [f"checkpoint={plain}", f"source_checkpoint={tmp_path / 'copy.pt'}"],
    ):
        refused = cli(*QUICK, *given, f"store.dir={digits_store}", f"hydra.run.dir={tmp_path}/b")
        assert refused.returncode == 2, refused.stderr[-2000:]
        line = refused.stderr.strip().splitlines()[-1]
        assert line.startswith("error: the black-box source is the target itself (the same ")
        assert not (tmp_path / "b").exists()
