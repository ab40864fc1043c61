"""gsattack on raw events: the recording it reports is what the network reads (every draw's
frames are the dataset's framing of the drawn recording, the clean candidates give the clean
frames), the reference's candidate bins, what a success changed, failures keep the clean
input and targeted successes reach the target (every gradient mode drives it:
test_event_flips_patch.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixtures_event_nets import binary_digits_net, held_out_recordings

from snnattack.attacks.methods.gsattack import GSAttack
from snnattack.data.digits_events import record
from snnattack.data.events import Framing
from snnattack.data.recordings import Recordings
from snnattack.gradients import gradient_mode

HELD_OUT = 8


@pytest.fixture(scope="module")
def net_and_frames() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    return binary_digits_net(HELD_OUT)


@pytest.fixture(scope="module")
def recordings() -> Recordings:
    return held_out_recordings(HELD_OUT)


def digits(framing: Framing, n: int = 6) -> Recordings:
    """``n`` event digits as a test split, 20 more with labels as the training split."""
    streams = record(np.random.default_rng(0).random((n + 20, 8, 8)))
    labels = tuple(i % 10 for i in range(20))
    return Recordings((16, 16, 2), framing, lambda i: streams[20 + i], lambda i: streams[i], labels)


def stream_of(attack: GSAttack, b: int, values: torch.Tensor) -> np.ndarray:
    """The recording that sample ``b``'s candidate ``values`` stand for (its events)."""
    keep = (values[b] != 0) & attack._valid[b]
    events = np.zeros(int(keep.sum()), dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    events["t"], events["x"], events["y"] = (
        a[b][keep].numpy() for a in (attack._t, attack._x, attack._y)
    )
    events["p"] = (values[b][keep] > 0).long().numpy()
    return events


@pytest.mark.parametrize("split_by", ["time", "number"])
@pytest.mark.parametrize("encoding", ["binary", "counts", "scaled"])
@pytest.mark.parametrize("candidates", ["events", "target", "random"])
def test_every_draw_is_framed_as_the_dataset_frames_its_recording(split_by, encoding, candidates):
    framing = Framing(4, 8, split_by, encoding, 4.0)
    recordings = digits(framing)
    batch = recordings.batch(range(6))
    attack = GSAttack(torch.nn.Identity(), candidates=candidates, recordings=batch)
    y = torch.arange(6)
    torch.manual_seed(0)
    attack.classes, attack.goals = 10, None  # forward sets them from the clean logits
    attack._start(torch.zeros(6), y)
    everyone = torch.arange(6)
    clean = attack.frames(attack._clean.float(), everyone)
    assert torch.equal(clean, framing.many(list(batch.streams), (16, 16, 2)))
    draw = torch.randint(-1, 2, attack._clean.shape).float() * attack._valid
    framed = framing.many([stream_of(attack, b, draw) for b in range(6)], (16, 16, 2))
    assert torch.equal(attack.frames(draw, everyone), framed)
    added = attack._valid.sum(1) - torch.tensor([len(s) for s in batch.streams])
    assert (added == 0).all() if candidates == "events" else (added > 0).all()


def test_the_reference_bins_cut_the_candidates_not_the_recording() -> None:
    framing = Framing(2, 16, "number", "counts")
    recordings = digits(framing, 1)
    attack = GSAttack(
        torch.nn.Identity(),
        bins="candidates",
        candidates="random",
        recordings=recordings.batch([0]),
    )
    torch.manual_seed(0)
    attack.classes, attack.goals = 10, None
    attack._start(torch.zeros(1), torch.zeros(1, dtype=torch.long))
    values = attack._clean.float()
    n = int(attack._valid.sum())
    per_bin = n // 2
    expected = torch.zeros(2, 2, 16, 16)
    for i in range(2 * per_bin):  # FrameGenerator: N // T candidates a bin, the rest dropped
        v = int(values[0, i])
        if v:
            expected[i // per_bin, int(v > 0), attack._y[0, i], attack._x[0, i]] += 1
    reference = attack.frames(values, torch.tensor([0]))[0]
    assert torch.equal(reference, expected)
    assert not torch.equal(reference, framing(recordings.test(0), (16, 16, 2)))


def test_successes_are_reported_with_what_they_changed_and_failures_keep_the_clean_input(
    net_and_frames, recordings
) -> None:
    model, x, y = net_and_frames
    batch = recordings.batch(range(HELD_OUT))
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        adv = GSAttack(model, steps=10, recordings=batch)(x, y)
    with torch.no_grad():
        success = model(adv).argmax(1) != y
    changes = batch.changes[-1]
    inserted, deleted, flipped, events = changes.unbind(1)
    assert success.sum() >= 6 and torch.equal(adv[~success], x[~success])
    assert ((inserted + deleted + flipped)[success] > 0).all()
    assert (changes[~success] == 0).all()
    assert torch.equal(events[success], torch.tensor([len(s) for s in batch.streams])[success])
    assert set(adv.unique().tolist()) <= {0.0, 1.0}


def test_targeted_gsattack_reaches_its_class_or_keeps_the_clean_input(
    net_and_frames, recordings
) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        adv = GSAttack(model, steps=10, target=3, recordings=recordings.batch(range(HELD_OUT)))(
            x, y
        )
    with torch.no_grad():
        pred = model(adv).argmax(1)
    hit = (adv != x).flatten(1).any(1)
    assert hit.any() and (pred[hit] == 3).all() and torch.equal(adv[~hit], x[~hit])


def test_random_targets_are_drawn_per_sample_among_the_other_classes(
    net_and_frames, recordings
) -> None:
    """``target: random`` (the paper's protocol): each sample's goal is another class than
    its label, its insertion candidates come from a training recording of that class, and a
    success is a prediction of that class."""
    model, x, y = net_and_frames
    attack = GSAttack(
        model, steps=10, target="random", recordings=recordings.batch(range(HELD_OUT))
    )
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        adv = attack(x, y)
    goals = attack.goals
    assert goals is not None and (goals != y).all() and len(set(goals.tolist())) > 1
    with torch.no_grad():
        pred = model(adv).argmax(1)
    hit = (adv != x).flatten(1).any(1)
    assert hit.any() and torch.equal(pred[hit], goals[hit]) and torch.equal(adv[~hit], x[~hit])


class BlankIsOne(torch.nn.Module):
    """Class 0 while the frames hold an event, class 1 on blank frames."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        held = x.flatten(1).sum(1)
        return torch.stack([held, torch.full_like(held, 0.5)], 1)


def test_a_draw_whose_events_span_fewer_microseconds_than_the_bins_is_no_success() -> None:
    """20 events at 0 and 1 µs and one at 1000 µs: framed by time into 4 bins, the recording
    is accepted, but a draw deleting the last event spans 1 µs, which the dataset refuses
    (TooShort) and frames as blank; scored on those blank frames it fooled the net."""
    events = np.zeros(21, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    events["t"] = np.append(np.arange(20) % 2, 1000)
    events["x"], events["p"] = np.arange(21) % 16, 1
    framing = Framing(4, 16, "time", "binary")
    batch = Recordings((16, 16, 2), framing, lambda i: events, lambda i: events, (0,)).batch([0])
    attack = GSAttack(BlankIsOne(), candidates="events", steps=20, recordings=batch)
    x, y = framing.many([events], (16, 16, 2)), torch.tensor([0])
    torch.manual_seed(0)
    adv = attack(x, y)
    inserted, deleted, flipped, recorded = batch.changes[-1][0].tolist()
    assert torch.equal(adv, x) or deleted == recorded == 21  # fooled only by no event at all
    clean, one = attack._clean.float(), torch.tensor([0])
    short, empty = clean.clone(), torch.zeros_like(clean)
    short[0, -1] = 0  # the draw deleting the event at 1000 µs: its frames are blank
    assert not attack.frames(short, one).any()
    assert [bool(attack._framable(v, one)) for v in (clean, short, empty)] == [True, False, True]
