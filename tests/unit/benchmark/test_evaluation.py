"""One call of ``snnattack.benchmark.evaluate`` prepares its evaluation once: it composes the
protocol's job config once, adapts the model once, checks the data once, and hands what it
prepared on to the preparation's tail, whose record is right as the core makes it (no second
preparation through ``snnattack.evaluate``, no record patched after)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import warnings
from pathlib import Path

import fixtures_digits
import pytest
import torch
from foreign_nets import spikingjelly_plif
from harness import ROOT, gpu_numerics, recording_numerics, users_gpu_numerics

import snnattack
from snnattack import api, inputs
from snnattack.benchmark import evaluation
from snnattack.benchmark.protocol import named
from snnattack.config import compose
from snnattack.errors import UserError
from snnattack.evaluation.reuse import weights
from snnattack.interop import adapt, external
from snnattack.interop.first_forward import steps_of
from snnattack.models import MODELS, build
from snnattack.preparation import config as preparation_config
from snnattack.training.parse import model_settings, source_config
from snnattack.training.store_key import store_key

ONE_ROW = """
defaults:
  - config
  - override /method: [fgsm]
  - _self_
eps: [16]
boxes: [white]
seed: 0
eval_batch_size: 16
trainer:
  limit_test_batches: 1
attack:
  eot_samples: 1
  tune:
    val_size: 16
checks:
  masking:
    enabled: false
benchmark:
  protocol: one
  version: 1
  stochastic_eot: 2
  name: null
  reported: null
"""

# the standard surrogate's architecture, which a black box needs beside a passed model
SURROGATE = "source_model: digits_net"


def counted(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """A counter of the calls of ``module.name`` (each appends 1), the function still run."""
    calls: list[int] = []
    function = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_a_benchmark_call_composes_once_adapts_once_and_checks_the_data_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from spikingjelly_digits import make_net

    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    torch.manual_seed(0)
    net = make_net()
    preparation_config._composed.cache_clear()  # an earlier test's config of these arguments
    composes = counted(monkeypatch, compose, "compose")  # Hydra's, in compose_config
    adaptations = counted(monkeypatch, external, "adapt")
    checks = counted(monkeypatch, inputs, "check_evaluation")  # every batch, read again
    monkeypatch.setattr(api, "evaluate", lambda *a, **k: pytest.fail("prepared a second time"))
    users = torch.get_rng_state()
    entry = snnattack.benchmark.evaluate(
        net, protocol=tmp_path / "one_v1.yaml", name="SJ", T=4, path=tmp_path / "one.json"
    )
    assert torch.equal(torch.get_rng_state(), users)  # as snnattack.evaluate keeps it
    assert len(composes) == 1 and len(adaptations) == 1 and len(checks) == 1
    assert entry["robust_acc"].keys() == {"fgsm"} and entry["model"]["T"] == 4
    # the record's description of the target, made right by the core, not patched after
    assert entry["model"]["parameters"] == sum(p.numel() for p in net.parameters())
    assert entry["provenance"]["weights"] == f"params:{weights(net)[:16]}"
    assert entry["model"]["architecture"] == "Sequential"  # its class; a zoo model: its name
    assert (entry["model"]["encoding"], entry["model"]["levels"]) == ("direct", None)


def test_the_config_is_composed_at_the_wrapped_networks_steps_and_a_foreign_T_is_checked() -> None:
    """The time steps the protocol's config is composed at (:func:`steps_of`, an argument of
    the one compose) are those of the network in ``nn.DataParallel``; another library's
    network without its ``T`` is refused there, before the config is composed."""
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    assert steps_of(torch.nn.DataParallel(net), None) == 4
    with pytest.raises(UserError) as refused:
        steps_of(torch.nn.DataParallel(spikingjelly_plif()), None)
    assert str(refused.value) == (
        "T=None: model=Sequential is not a snnattack SpikingNet, so its time steps are not "
        "known; accepted: T=<time steps>, an integer >= 1"
    )


def test_a_model_inside_a_gradient_mode_block_is_refused_before_the_surrogate_is_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark trains its black box's surrogate before the evaluation core runs: what
    the core would refuse (an attack inside a ``gradient_mode`` block) is refused first, and
    nothing is trained or written."""
    protocol = ONE_ROW.replace("boxes: [white]", f"boxes: [white, black]\n{SURROGATE}")
    (tmp_path / "one_v1.yaml").write_text(protocol)
    monkeypatch.setattr(evaluation, "surrogate", lambda *a: pytest.fail("the surrogate trained"))
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    entry = tmp_path / "one.json"
    with snnattack.gradient_mode(net, "rga") as m:
        with pytest.raises(UserError, match="inside its gradient_mode 'rga' block"):
            snnattack.benchmark.evaluate(m, protocol=tmp_path / "one_v1.yaml", name="N", path=entry)
    assert not entry.exists()


@pytest.mark.parametrize("first", ["nothing", "forward", "benchmark in the block"])
def test_the_benchmark_takes_the_module_gradient_mode_yields_as_the_api_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """The module that ``gradient_mode`` yields for a class with its own time loop adapts the
    class at its first forward; after the block the benchmark runs that network, made of the
    protocol's samples where no forward made it yet, as ``snnattack.evaluate`` does (it said
    "no known neuron": the module itself has none). Inside the block it is refused as every
    model is."""
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from spikingjelly_digits import make_net

    class OwnLoop(torch.nn.Module):
        """spikingjelly's tutorial form: the time loop in ``forward``."""

        def __init__(self) -> None:
            super().__init__()
            self.body = make_net()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x.unsqueeze(0).repeat(4, 1, 1, 1, 1)).mean(0)

    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    torch.manual_seed(0)
    net = OwnLoop().eval()

    def entry(m: torch.nn.Module, name: str) -> dict:
        path = tmp_path / f"{name}.json"
        return snnattack.benchmark.evaluate(
            m, protocol=tmp_path / "one_v1.yaml", name=name, path=path
        )

    with snnattack.gradient_mode(net, "stbp", T=4) as m:
        if first == "forward":
            m(torch.rand(2, 1, 8, 8))
        if first == "benchmark in the block":
            with pytest.raises(UserError, match="inside its gradient_mode 'stbp' block"):
                entry(m, "in_block")
            assert not (tmp_path / "in_block.json").exists()
            return
    ours = entry(m, "yielded")
    theirs = entry(adapt(net, T=4, example=torch.rand(1, 1, 8, 8)), "adapted")
    assert ours["model"]["T"] == 4 and ours["robust_acc"].keys() == {"fgsm"}
    assert (ours["clean_acc"], ours["robust_acc"]) == (theirs["clean_acc"], theirs["robust_acc"])


def test_a_model_inside_a_gradient_mode_block_is_refused_before_its_entry_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the attacks cannot run is refused with the model's own checks, before the entry
    file is read and the data are: a model inside a ``gradient_mode`` block whose ``path``
    holds a file that is not an entry hears of the block, and the file is kept."""
    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    monkeypatch.setattr(evaluation, "protocol_data", lambda *a: pytest.fail("the data were read"))
    held = tmp_path / "one.json"
    held.write_text("[1, 2]")
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    with snnattack.gradient_mode(net, "rga") as m:
        with pytest.raises(UserError, match="inside its gradient_mode 'rga' block"):
            snnattack.benchmark.evaluate(m, protocol=tmp_path / "one_v1.yaml", name="N", path=held)
    assert held.read_text() == "[1, 2]"


def test_a_black_box_protocol_without_a_surrogate_architecture_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drafted protocol with a black box and no ``source_model``: the standard surrogate
    was the target's architecture, which a passed model has none of, and its training failed
    after the data were read ("name='passed' is unknown", naming neither file nor key). It
    is one line naming the file and the key, nothing trained or written."""
    protocol = ONE_ROW.replace("boxes: [white]", "boxes: [white, black]\nsource_train: ann")
    file = tmp_path / "one_v1.yaml"
    file.write_text(protocol)
    monkeypatch.setattr(evaluation, "surrogate", lambda *a: pytest.fail("the surrogate trained"))
    monkeypatch.setattr(evaluation, "protocol_data", lambda *a: pytest.fail("the data read"))
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    entry, store = tmp_path / "one.json", tmp_path / "models"
    with pytest.raises(UserError) as refused:
        snnattack.benchmark.evaluate(net, protocol=file, name="N", path=entry, store=store)
    assert str(refused.value) == (
        f"{file}: boxes=['white', 'black'] transfers from a standard surrogate, but the file "
        "sets no source_model, its architecture (a model passed to snnattack.benchmark.evaluate "
        "has none of the config's to train); accepted: source_model: <one of "
        f"{', '.join(MODELS)}> in the file, or boxes: [white]"
    )
    assert not entry.exists() and not store.exists()


def test_a_store_argument_that_is_a_file_is_refused_naming_the_argument(tmp_path: Path) -> None:
    """The standard surrogate's store is the ``store`` argument, not ``store.dir``: a file
    given there is named so (it was ``store.dir=P is not writable (File exists)``)."""
    protocol = ONE_ROW.replace("boxes: [white]", f"boxes: [white, black]\n{SURROGATE}")
    (tmp_path / "one_v1.yaml").write_text(protocol)
    store = tmp_path / "models"
    store.write_text("not a folder")
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    entry = tmp_path / "one.json"
    with pytest.raises(UserError) as refused:
        snnattack.benchmark.evaluate(
            net, protocol=tmp_path / "one_v1.yaml", name="N", path=entry, store=store
        )
    assert str(refused.value) == (
        f"store={store} is a file, not a folder; a model must be trained there; accepted: a "
        "folder on a writable filesystem (store=PATH)"
    )
    assert not entry.exists() and store.read_text() == "not a folder"


@pytest.mark.parametrize("argument", ["data", "val_data"])
def test_images_of_another_size_than_the_protocols_are_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argument: str
) -> None:
    """A network that takes images of any size (global pooling) ran 16x16 images under the
    digits protocol: its entry was another data set's under the protocol's name, and the
    tuned or transfer rows (the standard surrogate takes 8x8 digits) raised a shape error
    after the surrogate's training. They are refused before any work, nothing written."""
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import functional, layer, neuron

    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    monkeypatch.setattr(evaluation, "prepared_evaluation", lambda *a, **k: pytest.fail("ran"))
    torch.manual_seed(0)
    any_size = torch.nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1),
        neuron.IFNode(),
        layer.AdaptiveAvgPool2d(2),
        layer.Flatten(),
        layer.Linear(16, 10),
    )
    functional.set_step_mode(any_size, "m")
    large = (torch.rand(20, 1, 16, 16), torch.randint(0, 10, (20,)))
    entry = tmp_path / "one.json"
    with pytest.raises(UserError) as refused:
        snnattack.benchmark.evaluate(
            any_size.eval(),
            protocol=tmp_path / "one_v1.yaml",
            name="N",
            T=4,
            path=entry,
            **{argument: large},
        )
    assert str(refused.value) == (
        f"{argument} holds images of shape [1, 16, 16], but the protocol attacks images of "
        "shape [1, 8, 8], as the protocol's data (digits) holds them; accepted: images of "
        f"shape [1, 8, 8] (a copy of the protocol's data), or {argument}=None (the "
        "protocol's own)"
    )
    assert not entry.exists()


def test_data_and_val_data_both_given_read_none_of_the_protocols(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CIFAR protocol required its data files even so, refused by keys (``dataset.params.
    download``) that the Python call cannot set."""
    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    monkeypatch.setattr(evaluation, "protocol_data", lambda *a: pytest.fail("read"))
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    test = (torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,)))
    val = (torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,)))
    entry = snnattack.benchmark.evaluate(
        net,
        test,
        protocol=tmp_path / "one_v1.yaml",
        name="N",
        val_data=val,
        path=tmp_path / "n.json",
    )
    assert entry["data"] == "user" and entry["n"] == 16
    assert entry["provenance"]["overrides"] == ["val_data=user"]


def test_a_spike_encoded_models_entry_states_its_encoding_not_the_protocols(
    tmp_path: Path,
) -> None:
    """The protocol's config says ``encoding: direct``; a native model built with Poisson
    spikes and 4 levels runs them, and its entry was indistinguishable from a direct one's."""
    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4, encoding="poisson", levels=4)
    fixtures_digits.spiking(net)
    data = [(torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))) for _ in range(2)]
    entry = snnattack.benchmark.evaluate(
        net.eval(),
        data[0],
        protocol=tmp_path / "one_v1.yaml",
        name="P",
        val_data=data[1],
        path=tmp_path / "p.json",
    )
    assert (entry["model"]["encoding"], entry["model"]["levels"]) == ("poisson", 4)
    assert entry["eot_samples"] == 2  # its forward is random: the protocol's draws


def test_a_spike_encoded_models_surrogate_is_the_one_its_job_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job on the protocol file says the model's encoding (``encoding=poisson``), and its
    standard surrogate is the ANN of that encoding; the Python entrance composed the
    protocol's ``encoding: direct`` and took another surrogate, whose transfer rows differed:
    one model, two entries. Its config now holds the model's encoding, as
    ``snnattack.evaluate``'s does, and its surrogate is the job's."""
    surrogate_keys = "boxes: [black]\nsource_train: ann\nsource_model: digits_net"  # digits_v1's
    (tmp_path / "one_v1.yaml").write_text(ONE_ROW.replace("boxes: [white]", surrogate_keys))
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4, encoding="poisson", levels=4)
    asked = []

    def surrogate(model, *args):
        asked.append(model)
        raise KeyboardInterrupt  # nothing trained

    monkeypatch.setattr(evaluation, "surrogate", surrogate)
    data = [(torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))) for _ in range(2)]
    with pytest.raises(KeyboardInterrupt):
        snnattack.benchmark.evaluate(
            net.eval(), data[0], protocol=tmp_path / "one_v1.yaml", name="P", val_data=data[1],
            path=tmp_path / "p.json",
        )  # fmt: skip
    protocol = named(tmp_path / "one_v1.yaml").overrides()  # the file, as a job composes it
    job = compose.compose_config([*protocol, "encoding=poisson", "encoding_levels=4"])
    (model,) = asked
    assert store_key(model, 0) == store_key(model_settings(source_config(job)), 0)
    assert (model.tree["encoding"], model.tree["encoding_levels"]) == ("poisson", 4)


class Unreadable(torch.utils.data.Dataset):
    """A torchvision data set without ``ToTensor``: its images are PIL images."""

    def __len__(self) -> int:
        return 20

    def __getitem__(self, i: int) -> tuple:
        from PIL import Image

        return Image.new("L", (8, 8)), i % 10


def test_data_whose_samples_do_not_read_are_refused_in_one_line(tmp_path: Path) -> None:
    """They were a TypeError of the DataLoader's collate function."""
    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    with pytest.raises(UserError) as refused:
        snnattack.benchmark.evaluate(
            net, Unreadable(), protocol=tmp_path / "one_v1.yaml", name="N", path=tmp_path / "n.json"
        )
    assert str(refused.value).startswith(
        "data: reading its first 16 samples raised TypeError: default_collate: batch must "
        "contain tensors"
    )
    assert str(refused.value).endswith(f"; accepted: {inputs.DATA}")
    assert not (tmp_path / "n.json").exists()


class Stream(torch.utils.data.IterableDataset):
    """An iterable data set: it has no length."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield torch.rand(1, 8, 8), i % 10


def test_an_iterable_data_set_is_read_and_counted(tmp_path: Path) -> None:
    """It was a TypeError of ``len()``."""
    (tmp_path / "one_v1.yaml").write_text(ONE_ROW)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    with pytest.raises(UserError) as refused:
        snnattack.benchmark.evaluate(
            net, Stream(5), protocol=tmp_path / "one_v1.yaml", name="N", path=tmp_path / "n.json"
        )
    assert str(refused.value) == (
        "data holds 5 samples but the protocol attacks 16; accepted: a data set of at least 16 "
        "samples, or data=None (the protocol's own)"
    )
    entry = snnattack.benchmark.evaluate(
        net, Stream(20), protocol=tmp_path / "one_v1.yaml", name="N", path=tmp_path / "n.json"
    )
    assert entry["n"] == 16 and entry["data"] == "user"


def test_the_surrogates_training_shows_no_library_banner_or_known_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Lightning's "GPU available", its 💡 tip and the _pytree deprecation printed around the
    progress of ``snnattack.benchmark.evaluate``'s surrogate training (a job's were dropped)."""
    lightning = logging.getLogger("lightning.pytorch.utilities.rank_zero")

    def noisy(*args: object) -> tuple[torch.nn.Module, None]:
        lightning.info("GPU available: False")
        lightning.info("💡 Tip: try litlogger")
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning, stacklevel=1)
        return torch.nn.Linear(1, 1), None

    # seen on the logger itself: Lightning stops propagation when imported before any handler
    shown = logging.handlers.BufferingHandler(capacity=100)
    monkeypatch.setattr(lightning, "handlers", [shown])
    monkeypatch.setattr(lightning, "filters", [])  # as a fresh process: an earlier job quiets
    monkeypatch.setattr(evaluation, "trained_model", noisy)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        evaluation.surrogate(None, 0, tmp_path)
    assert shown.buffer == [] and warned == []
    lightning.info("GPU available: False")
    assert len(shown.buffer) == 1  # after the call: the user's own Lightning as it was


@pytest.mark.parametrize("numerics", ["", "tf32: true\ndeterministic: false"])
def test_the_checks_the_surrogates_training_and_the_attacks_run_under_the_protocols_numerics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, numerics: str
) -> None:
    """On a GPU the check forwards, the standard surrogate's training and the attacks give a
    job's numbers only under its ``tf32`` and ``deterministic``: the model's and the data's
    checks ran under the process's own flags (the surrogate's training too, whose weights the
    store then kept for every later job). The user's flags hold again after the call."""
    protocol = ONE_ROW.replace("boxes: [white]", f"boxes: [white, black]\n{SURROGATE}")
    (tmp_path / "one_v1.yaml").write_text(f"{protocol}{numerics}\n")
    allowed, on = bool(numerics), not numerics
    expected = (allowed, allowed, on, not on)
    seen: list[tuple[bool, ...]] = []
    for check in ("check_model", "check_evaluation"):
        monkeypatch.setattr(inputs, check, recording_numerics(seen, getattr(inputs, check)))

    def untrained(*args: object) -> torch.nn.Module:  # stands for the training, under its flags
        return build("digits_net", num_classes=10, in_channels=1, T=4)

    monkeypatch.setattr(evaluation, "surrogate", recording_numerics(seen, untrained))
    monkeypatch.setattr(evaluation, "run_checked", recording_numerics(seen, evaluation.run_checked))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # the user's: unset
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=4)
    data = [(torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))) for _ in range(2)]
    users = (not allowed, not allowed, not on, on)  # the opposite of the protocol's
    with users_gpu_numerics(users):
        entry = snnattack.benchmark.evaluate(
            net, data[0], protocol=tmp_path / "one_v1.yaml", name="N", val_data=data[1],
            path=tmp_path / "n.json",
        )  # fmt: skip
        assert gpu_numerics() == users
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    # the model's check, the data's, the surrogate, the attacks (the tail's checks of the source)
    assert seen[:4] == [expected] * 4 and set(seen) == {expected}
    assert entry["robust_acc"].keys() == {"fgsm", "fgsm/transfer"}
