"""``snnattack.load(arch, path, T=, lam=, theta=, ...)``: a native model with a file's weights,
every argument checked first in one line; a model's own state dict and a store file load by
their names (the reference codes' files: tests/unit/models/test_snn_rat.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import fixtures_digits
import pytest
import torch
from harness import compose

import snnattack
from snnattack.errors import UserError
from snnattack.models import build
from snnattack.models.base import SpikingNet
from snnattack.snn.neurons import LIF
from snnattack.training.parse import model_settings
from snnattack.training.trained import load_from_file

DIGITS = dict(T=4, lam=0.5, theta=1.0, in_channels=1, mean=[0.305], std=[0.376])


@pytest.fixture
def digits_file(tmp_path: Path) -> tuple[SpikingNet, Path]:
    """A digits_net with BN statistics that make it spike, and its own state dict's file."""
    model = build("digits_net", 10, **{k: v for k, v in DIGITS.items()})
    fixtures_digits.spiking(model)
    torch.save(model.state_dict(), tmp_path / "digits.pt")
    return model.eval(), tmp_path / "digits.pt"


def test_a_models_own_state_dict_and_its_store_file_load_with_its_logits(
    digits_file: tuple[SpikingNet, Path],
) -> None:
    model, path = digits_file
    store = path.with_name("model.pt")
    torch.save({"state_dict": model.state_dict(), "record": {}}, store)
    x = torch.rand(8, 1, 8, 8)
    with torch.no_grad():
        expected = model(x)
        assert expected.std(0).sum() > 0
        for file in (path, store):
            loaded = snnattack.load("digits_net", file, **DIGITS)
            assert isinstance(loaded, SpikingNet) and not loaded.training
            torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(arch="alexnet"), "arch='alexnet' is unknown; accepted: vgg11, vgg16, "),
        (dict(arch=["vgg11"]), "arch=['vgg11'] is not a name; accepted: vgg11, vgg16, "),
        (dict(arch="vgg_11"), "arch='vgg_11' is unknown (did you mean vgg11?); accepted: vgg11, "),
        (
            dict(T=None),
            "T=None: a model file does not hold the neurons' settings; accepted: an "
            "integer >= 1 (the time steps the model was trained with)",
        ),
        (
            dict(lam=None),
            "lam=None: a model file does not hold the neurons' settings; accepted: "
            "0 < lam <= 1 (the leak, their LIFSpike's tau: 1.0 in SNN-RAT)",
        ),
        (dict(T=0), "T=0 is out of range; accepted: an integer >= 1"),
        (dict(lam=1.5), "lam=1.5 is out of range; accepted: 0 < lam <= 1"),
        (dict(theta=-1.0), "theta=-1.0 is out of range; accepted: a finite number > 0"),
        (dict(reset="zero"), "reset='zero' is unknown; accepted: hard, soft"),
        (dict(in_channels=1.0), "in_channels=1.0 is not an integer; accepted: an integer >= 1"),
        (dict(mean=[0.3, 0.3]), "mean=[0.3, 0.3], std=[0.376]: accepted: both None, or both"),
        (dict(mean=None), "mean=None, std=[0.376]: accepted: both None, or both a list of "),
        (dict(std=None), "mean=[0.305], std=None: accepted: both None, or both a list of "),
        (
            dict(in_channels=3),
            "mean=[0.305], std=[0.376]: accepted: both None, or both a list "
            "of in_channels=3 numbers",
        ),
        (dict(std="0.3"), "std='0.3' is not a list of numbers; accepted: None or a list of"),
        # a NaN was "not a list of numbers"; a std of 0 made the images infinite
        (dict(std=[float("nan")]), "std=[nan] holds nan, which is not finite; accepted: None "),
        (dict(std=[0.0]), "std=[0.0] holds 0.0, which is not > 0; accepted: None or a list of "),
        (dict(backend="gpu"), "backend='gpu' is unknown; accepted: c, torch, triton"),
        (
            dict(encoding="rate"),
            "encoding='rate' is unknown (did you mean frames?); accepted: direct, poisson, "
            "poisson_signed, frames",
        ),
        (dict(levels=1), "levels=1 is out of range; accepted: None or an integer >= 2"),
        (dict(path="nowhere.pt"), "path='nowhere.pt' is not a file; accepted: the path of"),
        (dict(path=None), "path='None' is not a file; accepted: the path of"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_a_bad_argument_is_refused_in_one_line_naming_it(
    digits_file: tuple[SpikingNet, Path], change: dict, message: str
) -> None:
    args = {"arch": "digits_net", "path": digits_file[1], **DIGITS, **change}
    with pytest.raises(UserError) as refused:
        snnattack.load(args.pop("arch"), args.pop("path"), **args)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_a_file_of_another_model_is_refused_naming_its_first_key(
    digits_file: tuple[SpikingNet, Path],
) -> None:
    """A file of other names is neither the model's own nor, for vgg5 (no reference code has
    it), a reference code's; a file of its own names whose tensors do not fit names one."""
    model, path = digits_file
    other = path.with_name("other.pt")
    torch.save({"layer1.0.weight": torch.zeros(64, 3, 3, 3)}, other)
    rgb = {**DIGITS, "in_channels": 3, "mean": None, "std": None}
    with pytest.raises(UserError) as refused:
        snnattack.load("vgg5", other, **rgb)
    assert str(refused.value).startswith(
        f"path={other}: its key layer1.0.weight is not one of the model's own (such as "
        "body.0.module.0.weight), and no reference code's names are known for this model"
    )
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path, **rgb)
    assert str(refused.value) == (
        f"path={path} does not fit the configured model: key body.0.module.weight "
        "(16, 1, 3, 3) is (16, 3, 3, 3) in the model; accepted: a file of the configured "
        "architecture, classes and input channels (num_classes=10: load's default, which the "
        "file's may not be: give the file's)"
    )


def test_load_names_its_defaults_where_a_file_does_not_fit_them(
    digits_file: tuple[SpikingNet, Path],
) -> None:
    """A digits file loaded without ``in_channels`` was refused as not fitting (16, 3, 3, 3),
    a shape the user never asked for: the line names load's defaults and how to give the
    file's; so does a normalisation's, which it measured against in_channels=3."""
    neurons = {k: DIGITS[k] for k in ("T", "lam", "theta")}
    with pytest.raises(UserError, match=r"in_channels=3 \(load's default: in_channels= for "):
        snnattack.load("digits_net", digits_file[1], **neurons, mean=[0.305], std=[0.376])
    path = digits_file[1].with_name("plain.pt")  # a file of no normalisation
    torch.save(build("digits_net", 10, in_channels=1, **neurons).state_dict(), path)
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path, **neurons)
    assert str(refused.value).endswith(
        "(16, 3, 3, 3) in the model; accepted: a file of the configured architecture, classes "
        "and input channels (num_classes=10, in_channels=3: load's defaults, which the file's "
        "may not be: give the file's, e.g. in_channels=1 for grey images)"
    )
    assert snnattack.load("digits_net", path, **neurons, in_channels=1) is not None


@pytest.mark.parametrize(
    ("encoding", "levels"), [("poisson", None), ("poisson_signed", None), ("direct", 4)]
)
def test_a_spike_encoded_models_state_dict_loads_with_the_encoding_given(
    tmp_path: Path, encoding: str, levels: int | None
) -> None:
    """A file of weights holds no encoding: a Poisson (or quantised) model's state dict was
    loaded as a direct, analog one, and evaluated on other inputs than it was trained on."""
    neurons = {k: v for k, v in DIGITS.items() if k not in ("mean", "std")}
    model = build("digits_net", 10, **neurons, encoding=encoding, levels=levels).eval()
    fixtures_digits.spiking(model)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    x = torch.rand(8, 1, 8, 8)

    def outputs(net: torch.nn.Module) -> torch.Tensor:
        torch.manual_seed(0)
        with torch.no_grad():
            return net(x)

    loaded = snnattack.load(
        "digits_net", tmp_path / "model.pt", **neurons, encoding=encoding, levels=levels
    )
    torch.testing.assert_close(outputs(loaded), outputs(model), rtol=0, atol=0)
    if encoding != "poisson_signed":  # loaded as direct (the signed one's 0.5s are refused)
        plain = snnattack.load("digits_net", tmp_path / "model.pt", **neurons)
        assert not torch.equal(outputs(plain), outputs(model))


@pytest.mark.parametrize("encoding", ["poisson", "poisson_signed", "frames"])
def test_a_normalisation_given_to_a_model_that_does_not_normalise_is_refused(
    tmp_path: Path, encoding: str
) -> None:
    """Only a direct model normalises with ``mean`` and ``std``: given with another encoding
    they were dropped without a word, and the model ran on other inputs than the caller
    meant."""
    neurons = {k: v for k, v in DIGITS.items() if k not in ("mean", "std")}
    torch.save(
        build("digits_net", 10, **neurons, encoding=encoding).state_dict(), tmp_path / "m.pt"
    )
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", tmp_path / "m.pt", **DIGITS, encoding=encoding)
    assert str(refused.value) == (
        f"mean=[0.305], std=[0.376] normalise a direct model's images, but encoding={encoding} "
        "feeds them to its encoder as they are (poisson_signed: normalised with its fixed 0.5, "
        "0.5); accepted: mean and std left out, or encoding='direct'"
    )
    assert snnattack.load("digits_net", tmp_path / "m.pt", **neurons, encoding=encoding)


def test_a_path_from_the_home_folder_loads(
    digits_file: tuple[SpikingNet, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``~/models/x.pt`` was not a file: the path was not expanded as a shell would."""
    model, path = digits_file
    monkeypatch.setenv("HOME", str(path.parent))
    loaded = snnattack.load("digits_net", f"~/{path.name}", **DIGITS)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_a_files_normalisation_is_refused_unless_mean_and_std_are_its(
    digits_file: tuple[SpikingNet, Path],
) -> None:
    """A model's own state dict holds its normalisation or none: other values given were
    silently replaced by the file's, and one given to a file of none (or none given to a
    file of one) was refused as a missing (unexpected) key naming neither mean nor std."""
    model, path = digits_file
    bare = path.with_name("bare.pt")
    torch.save(build("digits_net", 10, T=4, in_channels=1).state_dict(), bare)
    neurons = {k: v for k, v in DIGITS.items() if k not in ("mean", "std")}
    for file, given, message in (
        (
            path,
            dict(mean=[0.5], std=[0.5]),
            "holds the normalisation mean=[0.305], std=[0.376], but mean=[0.5], std=[0.5] "
            "were given; accepted: mean=[0.305], std=[0.376], the file's",
        ),
        (
            path,
            {},
            "holds a normalisation (mean=[0.305], std=[0.376]), but no mean or std was given; "
            "accepted: mean=[0.305], std=[0.376], the file's",
        ),
        (
            bare,
            dict(mean=[0.305], std=[0.376]),
            "holds no normalisation (its model normalises nothing), but mean=[0.305], "
            "std=[0.376] were given; accepted: leave mean and std out",
        ),
    ):
        with pytest.raises(UserError) as refused:
            snnattack.load("digits_net", file, **neurons, **given)
        assert str(refused.value) == f"path={file} {message}"
    assert isinstance(snnattack.load("digits_net", bare, **neurons).normalize, torch.nn.Identity)


def test_a_checkpoint_whose_normalisation_is_not_the_datasets_is_refused_as_load_refuses_it(
    digits_file: tuple[SpikingNet, Path],
) -> None:
    """``checkpoint=`` loaded the file's normalisation over ``dataset.mean``, ``dataset.std``
    without a word, where ``snnattack.load`` refuses the same file given other values."""
    model, path = digits_file
    settings = model_settings(compose("dataset.mean=[0.5]", "dataset.std=[0.5]"))
    with pytest.raises(UserError) as refused:
        load_from_file(settings, str(path))
    assert str(refused.value) == (
        f"checkpoint={path} holds the normalisation dataset.mean=[0.305], "
        "dataset.std=[0.376], but dataset.mean=[0.5], dataset.std=[0.5] were given; accepted: "
        "dataset.mean=[0.305], dataset.std=[0.376], the file's"
    )
    net, _ = load_from_file(model_settings(compose()), str(path))  # the dataset's: it loads
    assert torch.equal(net.normalize.mean, model.normalize.mean)


def test_a_half_precision_file_loads_and_an_integer_one_is_refused_naming_its_dtype(
    digits_file: tuple[SpikingNet, Path],
) -> None:
    """A float16 copy of the weights (``model.half().state_dict()``) was refused as holding
    another normalisation (its 0.305 is 0.30493); an int64 copy ran as weights rounded to
    whole numbers (10 %), or was refused for its normalisation of 0 as "accepted: std=[0.0]"."""
    model, path = digits_file
    half, whole = path.with_name("half.pt"), path.with_name("whole.pt")
    state = model.state_dict()
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, half)
    torch.save({k: v.long() for k, v in state.items()}, whole)
    rounded = build("digits_net", 10, **DIGITS)
    rounded.load_state_dict(
        {k: v.half().float() if v.is_floating_point() else v for k, v in state.items()}
    )
    x = torch.rand(8, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(
            snnattack.load("digits_net", half, **DIGITS)(x), rounded.eval()(x), rtol=0, atol=0
        )
        net, _ = load_from_file(model_settings(compose("lambda=0.5")), str(half))  # checkpoint=
        torch.testing.assert_close(net.eval()(x), rounded(x), rtol=0, atol=0)
    for load in (
        lambda: snnattack.load("digits_net", whole, **DIGITS),
        lambda: load_from_file(model_settings(compose()), str(whole)),
    ):
        with pytest.raises(UserError, match=r"holds key \S+ as torch.int64, not a floating-point"):
            load()


def test_a_store_file_loads_with_the_settings_of_its_record(
    digits_store: Path, tmp_path: Path
) -> None:
    """A file of this project's store holds its model's settings: left out they are its, and
    one that differs is refused as ``checkpoint=`` refuses it; an ANN is not built as an SNN."""
    model, x, _ = fixtures_digits.trained(digits_store)
    path = fixtures_digits.stored_file(digits_store)
    with torch.no_grad():
        torch.testing.assert_close(snnattack.load("digits_net", path)(x), model(x), rtol=0, atol=0)
        same = snnattack.load("digits_net", path, T=4, lam=1.0, mean=(0.305,), std=[0.376])
        torch.testing.assert_close(same(x), model(x), rtol=0, atol=0)
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path, lam=0.5)
    assert str(refused.value) == (
        f"path={path} was trained with lam=1.0 (its record's spec), but lam=0.5 was given; "
        "accepted: lam=1.0, the file's, or leave it out"
    )
    for name, value, stored in (("encoding", "poisson", "direct"), ("levels", 4, None)):
        with pytest.raises(UserError) as refused:  # None: a record of an analog model's
            snnattack.load("digits_net", path, **{name: value})
        assert str(refused.value) == (
            f"path={path} was trained with {name}={stored} (its record's spec), but "
            f"{name}={value} was given; accepted: {name}={stored}, the file's, or leave it out"
        )
    with pytest.raises(UserError, match=r"holds a digits_net \(its record's spec.model\); acc"):
        snnattack.load("vgg5", path)
    with pytest.raises(UserError, match=r"holds a model of train.kind=ann \(its record's spec"):
        snnattack.load("digits_net", as_kind(path, tmp_path, "ann"))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (dict(T="4"), "T='4' is text, not a number; accepted: an integer >= 1"),
        (dict(T=True), "T=True is not an integer; accepted: an integer >= 1"),
        (dict(reset="foo"), "reset='foo' is unknown; accepted: hard, soft"),
        (dict(lam="1.0"), "lam='1.0' is text, not a number; accepted: 0 < lam <= 1"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else None,
)
def test_a_store_files_argument_is_checked_by_its_rule_before_the_files(
    digits_store: Path, given: dict, message: str
) -> None:
    """An invalid value is refused as invalid, not as a mismatch with the record (which
    printed T='4' as 'but T=4 was given; accepted: T=4')."""
    path = fixtures_digits.stored_file(digits_store)
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path, **given)
    assert str(refused.value) == message


@pytest.mark.parametrize("path", ["/nonexistent/model.pt", "folder", 5, None])
def test_a_path_that_is_not_a_file_is_named_before_the_neuron_settings(
    path: object, tmp_path: Path
) -> None:
    """A store file needs no T: a mistyped path is the path's mistake, not a missing T."""
    path = tmp_path if path == "folder" else path
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path)
    assert str(refused.value).startswith(f"path={str(path)!r} is not a file; accepted: the path")


def as_kind(path: Path, folder: Path, kind: str) -> Path:
    """The store file ``path`` with a record of another kind of training: a conversion's
    spec holds no T (it runs at any), a hybrid's the scale of its converted thresholds."""
    payload = torch.load(path, weights_only=True)
    spec = payload["record"]["spec"]
    spec["train"]["kind"] = kind
    if kind == "conversion":
        del spec["neuron"]["T"]
    if kind == "hybrid":
        spec["train"]["hybrid"] = {"threshold_scale": 0.7}
    torch.save(payload, folder / f"{kind}.pt")
    return folder / f"{kind}.pt"


def test_a_conversion_runs_at_the_T_given_and_a_hybrid_at_its_scaled_thresholds(
    digits_store: Path, tmp_path: Path
) -> None:
    path = fixtures_digits.stored_file(digits_store)
    conversion = as_kind(path, tmp_path, "conversion")
    with pytest.raises(UserError, match="T=None: a model file does not hold the neurons' "):
        snnattack.load("digits_net", conversion)
    assert snnattack.load("digits_net", conversion, T=8).T == 8
    hybrid = as_kind(path, tmp_path, "hybrid")
    for model in (
        snnattack.load("digits_net", hybrid),
        snnattack.load("digits_net", hybrid, theta=0.7),
    ):
        assert {m.theta for m in model.modules() if isinstance(m, LIF)} == {0.7}
    with pytest.raises(UserError, match=r"was trained with theta=0.7 \(its record's spec\)"):
        snnattack.load("digits_net", hybrid, theta=1.0)
    payload = torch.load(path, weights_only=True)
    del payload["record"]["spec"]["neuron"]
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(UserError, match="is a store file whose record's spec lacks 'neuron'"):
        snnattack.load("digits_net", tmp_path / "damaged.pt")


def test_a_hybrid_file_given_as_checkpoint_runs_at_its_own_threshold_scale(
    digits_store: Path, tmp_path: Path
) -> None:
    """``checkpoint=`` of a hybrid trained at ``threshold_scale=0.7`` ran at the default 1.0
    without a word (its θ a float, no weight), clean accuracy 87.5 % where its own is 100 %."""
    hybrid = as_kind(fixtures_digits.stored_file(digits_store), tmp_path, "hybrid")
    hybrid_kind = ["train.kind=hybrid", "reset=hard"]  # the store file's reset
    own = model_settings(compose(*hybrid_kind, "train.hybrid.threshold_scale=0.7"))
    model, _ = load_from_file(own, str(hybrid))
    assert {m.theta for m in model.modules() if isinstance(m, LIF)} == {0.7}
    for given in ([], ["theta=0.7"]):  # the default scale 1.0; the same θ under other names
        with pytest.raises(UserError) as refused:
            load_from_file(model_settings(compose(*hybrid_kind, *given)), str(hybrid))
        assert "train.hybrid.threshold_scale=0.7" in str(refused.value).split("accepted:")[1]


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda path: path.write_bytes(path.read_bytes()[:5000]), "a zip archive cut short: "),
        (lambda path: path.write_bytes(b""), "an empty file"),
    ],
    ids=["cut short", "empty"],
)
def test_an_unreadable_file_is_refused_as_such_not_as_a_missing_T(
    digits_store: Path, tmp_path: Path, spoil: Callable[[Path], object], why: str
) -> None:
    """A store file needs no T, and an unreadable one has no record to read it from: it was
    refused as 'T=None: a model file does not hold the neurons' settings'."""
    path = tmp_path / "model.pt"
    path.write_bytes(fixtures_digits.stored_file(digits_store).read_bytes())
    spoil(path)
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path)
    assert str(refused.value).startswith(f"path={path} is missing, corrupt or unreadable ({why}")


def test_a_pickle_that_would_run_code_is_refused_as_such_not_as_a_missing_T(
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path)
    assert str(refused.value).startswith(
        f"path={path}: needs torch.nn.modules.linear.Linear, which is not a tensor or plain value"
    )


def test_a_state_dict_with_keys_that_are_not_names_is_no_model_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save({0: torch.zeros(2)}, path)
    with pytest.raises(UserError) as refused:
        snnattack.load("digits_net", path, **DIGITS)
    assert str(refused.value).startswith(
        f"path={path}: none of the files a model is read from; accepted: a store model.pt"
    )
