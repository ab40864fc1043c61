"""A foreign network's time axis, decided from what it does: one forward of each form.

A user's class of a library whose networks take either form (spikingjelly: a multi-step body
``[T, B, ...] -> [T, B, K]``, or a class whose ``forward`` makes the time steps itself from the
images) is run once as each, on adapted copies (the user's network keeps its state, its
BatchNorm statistics and its flags), in eval mode and without a gradient:

- *own loop*: the copy of :meth:`Adapter.own_loop` called on the samples ``[B, ...]``; it fits
  when it returns an output per sample (``[B, K]``, ``[T', B, K]`` or a tuple whose first
  element is one), and its neurons are counted: the steps each whole-T neuron call is given,
  and the calls of each one-step neuron;
- *multi-step body*: the copy of :meth:`Adapter.body` called on ``[T, B, ...]`` (the samples
  repeated over T; event frames ``[B, T, C, H, W]`` time first); it fits when it returns
  ``[T, B, K]``, or ``[1, B, K]`` (a spikingjelly body ending in a read-out node that decodes
  its membrane over T: :mod:`snnattack.interop.readout`).

``B`` is 3 (2 where T is 3), never T. One form fitting decides. Both fitting (a class whose
forward takes either: a multi-step body of linear layers, a loop over one-step calls of its
layers) is decided by the neurons: a body run on the samples gives its neurons the batch for
the time axis, so their steps on the samples are ``B``; an own loop's are its own steps (a
loop of other steps than T is then refused by its first forward, naming them). Neither fitting
is taken for the form that ran (a class whose own loop returns something other than an output
per sample: a dict, ``[B, T, K]``), else for a body, and the input checks then report that
form's output or error. Both cases are said in one logged line, with the argument that
decides it instead: ``adapt(net, T=..., own_loop=...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snnattack.inputs import first_line, state_read
from snnattack.snn.neurons import LIF
from snnattack.snn.stepwise import step_neurons

log = logging.getLogger(__name__)

# the arguments that state the form, and the forms, as the lines below name them
SAY_IT = "own_loop=True (its forward takes the samples) or False (it maps [T, B, ...])"
FORMS = {True: "a network with its own time loop", False: "a multi-step body"}


def neuron_steps(body: nn.Module, run: Callable[[], Any]) -> tuple[Any, set[int], set[int]]:
    """What ``run`` returns, the time steps the neurons of ``body`` ran over during it (a
    whole-T LIF: its input's first axis; a one-step LIF: its calls), and the one-step LIFs'
    alone (none: no one-step LIF was called); those are restarted before and after (no
    membrane, nor its graph, kept past it). The own-loop adapter checks its T by them
    (:mod:`snnattack.interop.loops`)."""
    steppers = step_neurons(body)
    whole = [m for m in body.modules() if isinstance(m, LIF)]
    whole = [m for m in whole if not any(m is s.lif for s in steppers)]
    steps: set[int] = set()
    hooks = [m.register_forward_pre_hook(lambda _, a: steps.add(a[0].shape[0])) for m in whole]
    for neuron in steppers:
        neuron.restart()
    try:
        out = run()
    finally:
        for hook in hooks:
            hook.remove()
    stepped = {neuron.steps for neuron in steppers if neuron.steps}  # 0: never called
    for neuron in steppers:
        neuron.restart()
    return out, steps | stepped, stepped


def _run(make: Callable[[], nn.Module], x: torch.Tensor) -> tuple[object, set[int]] | Exception:
    """The output of the copy ``make`` builds on ``x`` (eval mode, no gradient) and its
    neurons' steps, or what it raised. ``x`` is cast to the dtype and device of the copy's first
    floating tensor, as the attack will run it: CPU samples of a network on a GPU, float64
    samples of a ``.double()`` module :func:`snnattack.gradient_mode` yielded (its copies are
    float32), integer images (which the input checks refuse in one line, not both forms)."""
    try:
        copy = make().eval()
        tensors = (t for t in (*copy.parameters(), *copy.buffers()) if t.is_floating_point())
        if (reference := next(tensors, None)) is not None:
            x = x.to(reference.device, reference.dtype)
        with torch.no_grad():
            out, steps, _ = neuron_steps(copy, lambda: copy(x))
            return out, steps
    except Exception as err:  # the user's forward on a form it may not take
        return err


def _per_sample(out: object, batch: int) -> bool:
    """Whether ``out`` is an output per sample of a batch of ``batch`` (module docstring)."""
    if isinstance(out, tuple | list) and out:
        out = out[0]
    if not isinstance(out, torch.Tensor):
        return False
    return (out.dim() == 2 and out.shape[0] == batch) or (out.dim() == 3 and out.shape[1] == batch)


def has_own_loop(
    name: str,
    own_loop: Callable[[], nn.Module],
    body: Callable[[], nn.Module],
    T: int,
    example: torch.Tensor,
) -> bool:
    """Whether the network ``name`` makes its time steps itself, from one forward of each
    form (module docstring): ``own_loop`` and ``body`` build the two adapted copies,
    ``example`` is samples as the model is given them (images ``[N, ...]``, event frames
    ``[N, T, C, H, W]``)."""
    batch = 2 if T == 3 else 3
    samples = example[:1].detach().expand(batch, *example.shape[1:]).clone()
    frames = samples.dim() == 5 and samples.shape[1] == T
    stacked = samples.transpose(0, 1) if frames else samples.expand(T, *samples.shape)
    looped = _run(own_loop, samples)
    multi = _run(body, stacked.contiguous())
    loop_fits = not isinstance(looped, Exception) and _per_sample(looped[0], batch)
    body_fits = not isinstance(multi, Exception) and isinstance(multi[0], torch.Tensor)
    body_fits = body_fits and tuple(multi[0].shape[:2]) in ((T, batch), (1, batch))
    body_fits = body_fits and multi[0].dim() == 3
    if loop_fits != body_fits:
        return loop_fits
    shape = list(samples.shape)
    if loop_fits:
        steps = looped[1]
        own = steps != {batch}
        why = f"not the batch of {batch}" if own else "the batch: a body's neurons take it for time"
        log.warning(
            "interop: %s runs on samples %s and on [T, B, ...]: taken for %s, as its neurons "
            "ran over %s steps on the samples (%s); to say otherwise: adapt(net, T=%d, "
            "own_loop=...) with %s",
            name, shape, FORMS[own], sorted(steps) or "no", why, T, SAY_IT,
        )  # fmt: skip
        return own
    own = not isinstance(looped, Exception) and isinstance(multi, Exception)  # only its loop ran
    if any(isinstance(r, Exception) and state_read(r) for r in (looped, multi)):
        return own  # a membrane read-out: the input checks refuse it in one line, not the form
    log.warning(
        "interop: %s fits neither form: on samples %s it %s, on [T, B, ...] it %s: taken for "
        "%s; to say otherwise: adapt(net, T=%d, own_loop=...) with %s",
        name, shape, _outcome(looped), _outcome(multi), FORMS[own], T, SAY_IT,
    )  # fmt: skip
    return own


def _outcome(run: tuple[object, set[int]] | Exception) -> str:
    """What a run of :func:`_run` gave, in words: what it raised, or the form it returned."""
    if isinstance(run, Exception):
        return f"raised {first_line(run)}"
    out = run[0]
    if isinstance(out, torch.Tensor):
        return f"returned {list(out.shape)}"
    size = f" of {len(out)}" if isinstance(out, tuple | list | dict) else ""
    return f"returned a {type(out).__name__}{size}"
