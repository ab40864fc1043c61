"""Event frames through the Python API: a user's spikingjelly network (the tutorial's
multi-step shape, 2 input channels) attacked by ``sda`` and PGD on event frames
``[B, T, 2, H, W]`` with ``overrides=['dataset=digits_events']``, its frames fed time first
as the user's own loop feeds them; bad event inputs refused in one line naming the argument
(``snnattack.inputs.Samples``, docs/interop.md, "Event data")."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tonic
import torch
from external_nets import spikingjelly_events
from fixtures_dvs import write_aedat4
from torch import nn

import snnattack
from snnattack.data.digits_events import DigitsEventsDataModule
from snnattack.errors import UserError
from snnattack.inputs import Samples, check_batch
from snnattack.interop.streams import framed_recordings
from snnattack.models.zoo import build

EVENTS = ["dataset=digits_events"]


def tutorial_net(seed: int = 0) -> nn.Module:
    """spikingjelly's conv tutorial network on 2-polarity 8x8 frames, untrained but spiking
    (its weights scaled up: its outputs differ between samples)."""
    net = spikingjelly_events(seed)
    with torch.no_grad():
        for layer_ in (net[0], net[5]):
            layer_.weight.mul_(4.0)
    return net


def own_logits(net: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """The user's own forward: frames ``[B, T, C, H, W]`` time first, mean rate over T."""
    from spikingjelly.activation_based import functional

    with torch.no_grad():
        out = net(frames.transpose(0, 1)).mean(0)
    functional.reset_net(net)
    return out


def frames(n: int = 6, T: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random binary event frames ``[n, T, 2, 8, 8]`` and labels."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, T, 2, 8, 8, generator=g) < 0.3).float()
    return x, torch.randint(0, 10, (n,), generator=g)


def test_sda_on_a_spikingjelly_network_flips_bits_of_its_event_frames() -> None:
    net = tutorial_net().eval()  # BatchNorm on its running statistics, as attacks run
    x, _ = frames()
    y = own_logits(net, x).argmax(1)  # its own predictions: every sample clean-correct
    adv = snnattack.attack(net, x, y, method="sda", T=4, overrides=EVENTS, n_iter=10)
    assert adv.shape == x.shape
    assert set(adv.unique().tolist()) <= {0.0, 1.0}
    changed = (adv != x).flatten(1).any(1)
    fooled = own_logits(net, adv).argmax(1) != y
    assert changed.any()
    assert torch.equal(changed, fooled)  # a success is an example that fools the user's own net


def sensor_net(channels: int, side: int) -> nn.Module:
    """A spikingjelly conv network on frames of ``channels`` x ``side`` x ``side``, spiking."""
    from spikingjelly.activation_based import functional, layer, neuron

    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(channels, 4, 3, padding=1),
        neuron.LIFNode(v_threshold=0.2),
        layer.AdaptiveAvgPool2d(2),
        layer.Flatten(),
        layer.Linear(16, 10),
    )
    functional.set_step_mode(net, "m")
    return net.eval()


@pytest.mark.parametrize("mode", ["stbp", "rga"])
def test_gradient_mode_reads_event_frames_time_first_as_attack_does(mode: str) -> None:
    """``gradient_mode(net, mode, T=4, frames=True)`` runs a user's network on event frames
    ``[B, T, 2, H, W]`` as their own loop does; without a way to say so, the frames were
    repeated over T as images and a bare ValueError of a layer was all that came back."""
    net = tutorial_net().eval()
    x, _ = frames()
    with snnattack.gradient_mode(net, mode, T=4, frames=True) as m:
        torch.testing.assert_close(m(x), own_logits(net, x))
    native = build("digits_net", num_classes=10, in_channels=1, T=4)  # reads images
    with pytest.raises(UserError) as err:  # it spoke of "the job's samples" and datasets
        with snnattack.gradient_mode(native, mode, frames=True):
            pass
    assert str(err.value) == (
        "model=SpikingNet reads images (its encoder is DirectEncoder) but frames=True says "
        "the samples are event frames; accepted: a model built with encoding='frames', or "
        "frames=False for images"
    )
    with pytest.raises(UserError, match=r"^frames='yes': accepted: True or False$"):
        with snnattack.gradient_mode(net, mode, T=4, frames="yes"):
            pass
    # the frames without frames=True: the layer's bare ValueError, now the way to say it
    with pytest.raises(UserError) as err, snnattack.gradient_mode(net, mode, T=4) as m:
        m(x)
    assert str(err.value).startswith(f"interop: {type(net).__qualname__} on samples [")
    assert str(err.value).endswith(
        "accepted: images [B, C, H, W], or event frames [B, T, C, H, W] as frames: "
        "snnattack.gradient_mode(..., frames=True)"
    )


@pytest.mark.parametrize(
    ("dataset", "channels", "side"), [("nmnist", 2, 34), ("dvs_gesture", 2, 128)]
)
def test_a_users_network_on_a_sensor_of_another_size_is_attacked_and_recorded_as_passed(
    dataset: str, channels: int, side: int
) -> None:
    """The config's own architecture (digits_net, 8x8) is no model of the call: a network
    passed on 34x34 or 128x128 frames is attacked, and its record names its class."""
    net, g = sensor_net(channels, side), torch.Generator().manual_seed(0)
    x = (torch.rand(2, 4, channels, side, side, generator=g) < 0.3).float()
    y = torch.tensor([0, 1])
    adv = snnattack.attack(net, x, y, "sda", T=4, overrides=[f"dataset={dataset}"], n_iter=2)
    assert adv.shape == x.shape
    record = snnattack.evaluate(
        net, (x, y), methods="sda", T=4, masking=False, progress=False,
        overrides=[f"dataset={dataset}", "method.sda.n_iter=2"],
    )  # fmt: skip
    assert record.config["model"]["name"] == "passed"
    assert record.architecture() == "Sequential"
    assert record.title().startswith(f"{dataset} / Sequential  T=4 ")


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (  # event frames for an image model's dataset
            lambda: frames(),
            {"method": "pgd"},
            "x has shape [6, 4, 2, 8, 8], event frames [B, T, C, H, W], but the job's "
            "dataset=digits holds images",
        ),
        (  # images given to an event attack
            lambda: (frames()[0][:, 0], frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x has shape [6, 2, 8, 8] (images, not event frames) but the job attacks event "
            "frames (dataset=digits_events)",
        ),
        (  # counts where the threat model flips bits
            lambda: (frames()[0] * 2, frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x holds values in [0, 2] that are not binary values {0, 1}",
        ),
        (  # fewer bins than the model's T
            lambda: (frames(T=3)[0], frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x has 3 frames per sample (shape [6, 3, 2, 8, 8]) but T=4",
        ),
        (
            lambda: (-frames()[0], frames()[1]),
            {"method": "pgd", "overrides": EVENTS},
            "x holds values in [-1, 0] that are not binary values {0, 1}",
        ),
        (
            lambda: (frames()[0].long(), frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x has dtype torch.int64; accepted: event frames [B, T=4, C, H, W]",
        ),
    ],
)
def test_bad_event_input_is_refused_in_one_line(data, kwargs, message: str) -> None:
    x, y = data()
    with pytest.raises(UserError, match=None) as err:
        snnattack.attack(tutorial_net(), x, y, T=4, **kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_frames_of_each_encoding_are_checked_against_its_values() -> None:
    x, y = frames()
    counts = Samples("counts", 4, "digits_events")  # no method attacks counts yet: the check
    assert torch.equal(check_batch(x * 3, y, samples=counts)[0], x * 3)
    with pytest.raises(UserError, match=r"x holds values in \[0, 1.5\] that are not integer"):
        check_batch(x * 1.5, y, samples=counts)
    scaled = [*EVENTS, "dataset.params.event_encoding=scaled"]
    with pytest.raises(UserError, match=r"x holds values in \[0, 3\] that are not scaled"):
        snnattack.attack(tutorial_net(), x * 3, y, method="fgsm", T=4, overrides=scaled)
    adv = snnattack.attack(tutorial_net(), x / 2, y, method="fgsm", eps=8, T=4, overrides=scaled)
    assert (adv - x / 2).abs().max().item() == pytest.approx(8 / 255)


def test_a_native_image_model_on_event_frames_is_refused_naming_model() -> None:
    image_net = build("digits_net", 10, in_channels=2, T=4)
    x, y = frames()
    with pytest.raises(UserError, match=r"model=SpikingNet reads images .* event frames"):
        snnattack.attack(image_net, x, y, method="sda", overrides=EVENTS)
    event_net = build("digits_net", 10, in_channels=2, T=4, encoding="frames")
    with pytest.raises(UserError, match=r"model=SpikingNet reads event frames .* images"):
        snnattack.attack(event_net, x[:, 0], y, method="pgd")
    adv = snnattack.attack(event_net, x, y, method="sda", overrides=EVENTS)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}


def test_an_snntorch_step_network_reads_the_frames_one_bin_per_step() -> None:
    """snnTorch's one-step ``nn.Sequential``, called per bin by the user's own loop."""
    import snntorch
    from snntorch import utils

    torch.manual_seed(0)

    def leaky() -> nn.Module:
        return snntorch.Leaky(beta=0.5, threshold=0.5, init_hidden=True)

    net = nn.Sequential(
        nn.Conv2d(2, 8, 3, padding=1), leaky(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(128, 10), leaky(),
    ).eval()  # fmt: skip
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[4].weight.mul_(3.0)
    x, _ = frames()
    utils.reset(net)
    with torch.no_grad():
        own = torch.stack([net(x[:, t]) for t in range(4)]).mean(0)
    y = own.argmax(1)
    record = snnattack.evaluate(
        net, (x, y), methods="sda", T=4, overrides=[*EVENTS, "method.sda.n_iter=20"],
        progress=False, masking=False,
    )  # fmt: skip
    assert record.clean_acc == 100.0
    assert record.results[0].asr == 100.0 and record.results[0].l0_mean > 0


def trained_tutorial_net():
    """The tutorial network trained 3 epochs on the event digits with spikingjelly's own loop,
    in eval mode, and the first 96 test samples."""
    from spikingjelly.activation_based import functional

    dm = DigitsEventsDataModule(frames=4)
    dm.setup()
    net = spikingjelly_events()
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    loader = torch.utils.data.DataLoader(dm.train_set, batch_size=64, shuffle=True)
    for _ in range(3):
        for x, y in loader:
            out = net(x.transpose(0, 1)).mean(0)
            loss = nn.functional.mse_loss(out, nn.functional.one_hot(y, 10).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
            functional.reset_net(net)
    x, y = dm.test_set.tensors
    return net.eval(), x[:96], y[:96]


@pytest.mark.slow
def test_evaluate_a_spikingjelly_net_trained_on_the_event_digits_with_its_own_loop(
    run_job, tmp_path
) -> None:
    """The user trains the tutorial network with spikingjelly's own loop, then
    ``snnattack.evaluate`` gives its clean accuracy (as the user's own forward computes it)
    and SDA's row with ASR and the L0 budget fields, next to PGD's; a ``model=external`` job
    on the same weights gives the same rows."""
    net, x, y = trained_tutorial_net()
    own = (own_logits(net, x).argmax(1) == y).float().mean().item() * 100
    record = snnattack.evaluate(
        net, (x, y), methods=["sda", "pgd"], eps=[16], T=4, overrides=EVENTS, progress=False,
        masking=False,
    )  # fmt: skip
    assert record.clean_acc == pytest.approx(own)
    assert own > 30  # trained: worth attacking
    sda, pgd = record.results
    assert (sda.method, sda.eps, pgd.method) == ("sda", 0.0, "pgd")
    assert sda.asr == 100.0 and sda.n_correct == round(own * 96 / 100)
    assert 0 < sda.l0_median <= sda.l0_mean * 3
    assert sda.l0_mean == pytest.approx(sda.inserted_mean + sda.deleted_mean)
    assert sda.l0_under == {"200": 100.0, "800": 100.0}
    assert pgd.l0_mean is None and 0 < pgd.asr <= 100
    torch.save(net.state_dict(), tmp_path / "net.pt")
    job = run_job(  # on the CPU, where the API kept the network
        *EVENTS, "trainer=cpu", "model=external",
        "model.factory._target_=external_nets.spikingjelly_events",
        f"checkpoint={tmp_path / 'net.pt'}", "method=[sda,pgd]", "eps=[16]", "boxes=[white]",
        "eval_batch_size=32", "trainer.limit_test_batches=3", "checks.masking.enabled=false",
    )  # fmt: skip
    assert job["clean_acc"] == pytest.approx(record.clean_acc)
    for row, ours in zip(job["results"], record.results, strict=True):
        assert (row["method"], row["asr"], row["l0_mean"]) == (ours.method, ours.asr, ours.l0_mean)


def test_retime_on_a_spikingjelly_network_moves_spikes_in_time_only() -> None:
    """Spike-Retiming through the Python API on the tutorial net: every line keeps its
    count, at most one spike per bin, each spike within one bin (B∞ 1), some digits fooled."""
    net = tutorial_net().eval()
    x, _ = frames()
    y = own_logits(net, x).argmax(1)
    adv = snnattack.attack(net, x, y, method="retime", T=4, overrides=EVENTS, steps=10)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(adv.sum(1), x.sum(1)) and (adv != x).any()
    # within one bin: every spike's bin is one of the clean spikes' on its line, moved by <= 1
    near = x + x.roll(1, 1) * (torch.arange(4) > 0).view(1, 4, 1, 1, 1)
    near = near + x.roll(-1, 1) * (torch.arange(4) < 3).view(1, 4, 1, 1, 1)
    assert ((adv > 0) <= (near > 0)).all()
    assert (own_logits(net, adv).argmax(1) != y).any()


def event_streams(n: int, train: int = 20) -> tuple[DigitsEventsDataModule, list, list, list]:
    """The event digits' datamodule, ``n`` test recordings, ``train`` training recordings and
    their labels (tonic's structured arrays, as a user holds them)."""
    dm = DigitsEventsDataModule(frames=4, seed=0)
    recordings = dm.recordings()
    tests = [recordings.test(i) for i in range(n)]
    held_out = [recordings.train(i) for i in range(train)]
    return dm, tests, held_out, list(recordings.train_labels[:train])


def test_gsattack_changes_the_raw_event_streams_a_user_passes() -> None:
    """GSAttack through the Python API on the tutorial net, fed the event digits' recordings:
    the API frames them as the dataset does (the net's own predictions on those frames are
    its labels: all clean-correct), and the row reports the recordings' events changed."""
    net = tutorial_net().eval()
    dm, streams, held_out, held_out_labels = event_streams(6)
    y = own_logits(net, dm.framing.many(streams, dm.sensor_size)).argmax(1)
    torch.manual_seed(0)
    record = snnattack.evaluate(
        net, (streams, y), methods=["gsattack"], eps=[16], T=4, overrides=[*EVENTS,
        "method.gsattack.steps=5"], val_data=(held_out, held_out_labels), progress=False,
        masking=False,
    )  # fmt: skip
    (row,) = record.results
    assert record.clean_acc == 100.0 and row.asr > 0
    changes = row.recording
    assert changes["changed_mean"] == pytest.approx(
        changes["inserted_mean"] + changes["deleted_mean"] + changes["flipped_mean"]
    )
    assert sum(changes["changed_hist"].values()) == round(row.asr * row.n_correct / 100)


def test_event_streams_given_to_attack_are_refused_naming_the_frames_it_takes() -> None:
    """attack's line for a list of event streams was "torch.as_tensor(...) of a list",
    which fails on tonic's structured arrays; evaluate is the door that takes streams."""
    _, tests, _, _ = event_streams(2, 0)
    with pytest.raises(UserError) as err:
        snnattack.attack(tutorial_net(), tests, torch.tensor([0, 1]), T=4, overrides=EVENTS)
    assert str(err.value) == (
        "x=list of 2 event streams: attack crafts on their frames [B, T, C, H, W]; accepted: "
        "the frames as a tensor, or snnattack.evaluate(model, (streams, labels), methods=[...], "
        "overrides=['dataset=<the event dataset>']), which frames the streams as the dataset "
        "does and attacks the recordings too (gsattack)"
    )


@pytest.mark.parametrize(
    ("streams", "overrides", "message"),
    [
        (  # frames where the attack changes recordings
            False,
            [],
            "methods=gsattack changes the raw events, but data holds no event streams; "
            "accepted: data=(a list of event streams",
        ),
        (  # no held-out streams to draw insertions from
            True,
            [],
            "method.gsattack.candidates=target inserts events of held-out recordings of the "
            "target class, but val_data holds no event streams",
        ),
        (  # streams of a larger sensor
            "wide",
            [],
            "data[0][0] has x in [0, 40], outside the 16x16 sensor of the job's dataset",
        ),
        (  # the hint was "e.g. ['dataset=nmnist']" whatever the streams' size
            "wide",
            [],
            "(name the recordings' own dataset in overrides, of their sensor: dataset=nmnist "
            "34x34; dataset=cifar10_dvs 128x128; dataset=dvs_gesture 128x128; "
            "dataset=digits_events dataset.params.sensor)",
        ),
    ],
)
def test_bad_raw_event_input_is_refused_in_one_line(streams, overrides, message) -> None:
    dm, tests, _, _ = event_streams(2, 0)
    if streams == "wide":
        tests[0] = tests[0].copy()
        tests[0]["x"][0] = 40
    if streams:
        data = (tests, [0, 1])
    else:
        data = (dm.framing.many(tests, dm.sensor_size), torch.tensor([0, 1]))
    with pytest.raises(UserError) as err:
        snnattack.evaluate(
            tutorial_net(), data, methods=["gsattack"], eps=[16], T=4,
            overrides=[*EVENTS, *overrides], progress=False,
        )  # fmt: skip
    assert message in str(err.value) and "\n" not in str(err.value)
    frames = torch.zeros(1, 4, 2, 8, 8)
    with pytest.raises(UserError, match="changes raw event streams, which attack"):
        snnattack.attack(
            tutorial_net(), frames, torch.tensor([0]), method="gsattack", T=4, overrides=EVENTS
        )


def retyped(stream: np.ndarray, field: str, value: float, at: int = 3) -> np.ndarray:
    """``stream`` with ``field`` stored as float64 and its event ``at`` set to ``value``."""
    dtype = [(f, np.float64 if f == field else stream.dtype[f]) for f in stream.dtype.names]
    out = stream.astype(dtype)
    out[field][at] = value
    return out


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda s, y: ([retyped(s[0], "t", np.nan), s[1]], y),
            "data[0][0] has t of dtype float64 holding NaN or infinite values; accepted: finite",
        ),
        (
            lambda s, y: ([s[0], retyped(s[1], "x", 1.5)], y),
            "data[0][1] has fractional x coordinates (such as 1.5); accepted: whole pixels, "
            "integer x in [0, 15]",
        ),
        (
            lambda s, y: (s, ["three", "one"]),
            "data[1] has shape [2] (<U5) for 2 streams; accepted: 2 integer labels",
        ),
        (
            lambda s, y: ([s[0][:0], s[1][:0]], y),
            "data[0] holds 2 streams without any event; accepted: a list of event streams",
        ),
    ],
    ids=["nan-timestamp", "fractional-x", "string-labels", "all-empty"],
)
def test_streams_with_bad_values_are_refused_naming_the_stream_or_labels(spoil, message) -> None:
    """Refused by ``snnattack.evaluate`` before any attack, never an IndexError or torch's
    TypeError; every stream empty is refused (nothing to attack), not attacked."""
    _, tests, _, _ = event_streams(2, 0)
    with pytest.raises(UserError) as err:
        snnattack.evaluate(
            tutorial_net(), spoil(tests, [0, 1]), methods=["gsattack"], eps=[16], T=4,
            overrides=[*EVENTS, "method.gsattack.candidates=events"], progress=False,
        )  # fmt: skip
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_an_empty_stream_beside_others_and_whole_float_pixels_are_legal() -> None:
    """A recording without events is framed as empty frames; float coordinates of whole
    pixels are the same events as integer ones."""
    dm, tests, _, _ = event_streams(2, 0)
    floats = retyped(tests[1], "x", float(tests[1]["x"][3]))
    (x, y), _, _ = framed_recordings(
        ([tests[0][:0], floats], torch.tensor([4, 7], dtype=torch.int32)),
        None,
        dm.sensor_size,
        dm.framing,
    )
    assert x[0].sum() == 0 and torch.equal(x[1], dm.framing.many([tests[1]], dm.sensor_size)[0])
    assert y.tolist() == [4, 7] and y.dtype == torch.long


@pytest.mark.parametrize("argument", ["data", "val_data"])
def test_a_stream_too_short_to_frame_by_time_is_refused_naming_it(argument: str) -> None:
    """Events of one timestamp framed by time give bins 0 µs long: the stream became blank
    frames without a word (a recording file of the same events is refused)."""
    dm, tests, _, _ = event_streams(2, 0)
    short = tests[1].copy()
    short["t"] = short["t"][0]
    streams = {"data": (tests, [0, 1]), "val_data": None}
    streams[argument] = ([tests[0], short], [0, 1])
    with pytest.raises(UserError) as refused:
        framed_recordings(streams["data"], streams["val_data"], dm.sensor_size, dm.framing)
    assert str(refused.value) == (
        f"cannot frame {argument}[0][1]: its {len(short)} events span 0 µs, fewer than "
        "dataset.params.frames=4, so its bins of equal duration (dataset.params.split_by=time) "
        "are 0 µs long and hold none; accepted: dataset.params.split_by=number (bins of an "
        "equal number of events), or a dataset without the recording"
    )


def tonic_typed(stream: np.ndarray) -> np.ndarray:
    """``stream`` as tonic's DVSGesture and CIFAR10-DVS type theirs: bool p, uint64 t."""
    kinds = {"p": bool, "t": np.uint64}
    return stream.astype([(f, kinds.get(f, stream.dtype[f])) for f in stream.dtype.names])


def test_streams_with_tonics_bool_polarity_are_the_same_events_as_integer_ones() -> None:
    """tonic's DVSGesture and CIFAR10-DVS give p as bool: refused as not a number, it is
    framed as the integer polarity, and the attacks on raw events read and write integers."""
    dm, tests, held_out, held_out_labels = event_streams(2, 3)
    labels = torch.tensor([4, 7])
    typed = ([tonic_typed(s) for s in tests], labels)
    donors = ([tonic_typed(s) for s in held_out], held_out_labels)
    (x, y), (val_x, _), recordings = framed_recordings(typed, donors, dm.sensor_size, dm.framing)
    (x_int, _), (val_int, _), _ = framed_recordings(
        (tests, labels), (held_out, held_out_labels), dm.sensor_size, dm.framing
    )
    assert torch.equal(x, x_int) and torch.equal(val_x, val_int) and y.tolist() == [4, 7]
    assert recordings.test(0)["p"].dtype.kind == "i" and recordings.train(0)["p"].dtype == np.int64
    unsorted = typed[0][0].copy()
    unsorted["t"][0] = unsorted["t"][-1] + 1  # np.diff of an unsigned t wraps: no negative
    with pytest.raises(UserError, match=r"^data\[0\]\[0\] is not sorted by time") as refused:
        framed_recordings(([unsorted], labels[:1]), None, dm.sensor_size, dm.framing)
    # its advice, followed as written, sorts the stream (a plain np.sort orders it by x)
    advice = re.search(r"np\.sort\(stream, order='t'\)", str(refused.value))
    assert advice is not None
    resorted = np.sort(unsorted, order="t")
    framed_recordings(([resorted], labels[:1]), None, dm.sensor_size, dm.framing)


def test_streams_read_by_tonics_aedat4_reader_are_the_same_events(tmp_path: Path) -> None:
    """``tonic.io.read_aedat4`` (a user's own CIFAR10-DVS-like recording) names the polarity
    aedat's ``on``, titled ``p``: it was refused as having no field p."""
    dm, tests, _, _ = event_streams(1, 0)
    (stream,) = tests
    path = write_aedat4(tmp_path / "r.aedat4", stream["t"], stream["x"], stream["y"], stream["p"])
    read = tonic.io.read_aedat4(str(path))
    assert read.dtype.names == ("t", "x", "y", "on")
    labels = torch.tensor([3])
    (x, _), _, recordings = framed_recordings(([read], labels), None, dm.sensor_size, dm.framing)
    (x_int, _), _, _ = framed_recordings(([stream], labels), None, dm.sensor_size, dm.framing)
    assert torch.equal(x, x_int)
    assert recordings.test(0).dtype.names == ("t", "x", "y", "p")
    assert recordings.test(0)["p"].dtype == np.int64
