"""The Python API: evaluate, attack and differentiate a spiking network from a script or a
notebook, with the machinery of a job (docs/interop.md, "Using your own model").

- :func:`evaluate` runs the same evaluation as ``python run.py``: clean accuracy, one row per
  (method, ε, box), the worst-case ensemble, tuning on the validation data passed in, and the
  masking checks. It returns the :class:`~snnattack.records.results.JobRecord` a job writes to
  ``metrics.json``.
- :func:`attack` returns adversarial examples of one batch.
- :func:`gradient_mode` differentiates a model by a gradient mode in the user's own loop.

The keyword arguments become overrides of the job's config (``conf/``), so every value is
checked by the same rules as on the command line
(:func:`snnattack.config.validation.validate`) and a wrong one is one
:class:`~snnattack.errors.UserError` line; ε is in 1/255 units, as ``eps=``.
Data is moved to the device of the model; the user's model is never changed (the attacks run
on a copy in eval mode, which the evaluation core makes: :mod:`snnattack.evaluation.core`).
The preparation is the benchmark's too (:mod:`snnattack.preparation`); what is kept of a
call for the next one is kept by :func:`~snnattack.interop.prepared.prepared_once`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from snnattack import inputs
from snnattack.attacks.ensemble import ENSEMBLE, ENSEMBLE_KEYS
from snnattack.attacks.methods import METHOD_PARAMS, reads_recordings
from snnattack.attacks.methods.base import unfitted
from snnattack.attacks.parse import attack_specs
from snnattack.attacks.universal import needs_fitting
from snnattack.config.compose import scalar
from snnattack.config.kept import read_once
from snnattack.config.keys import CONF_DIR
from snnattack.config.parse import attack_settings
from snnattack.config.plain_rules import RADIUS
from snnattack.errors import UserError
from snnattack.evaluation import core
from snnattack.gradients import GRADIENT_MODES, check_mode, checked_mode, in_block, sole_mode
from snnattack.interop.common import unwrapped
from snnattack.interop.external import as_spiking_net, check_foreign, with_encoding
from snnattack.interop.first_forward import OnFirstForward, network_of
from snnattack.interop.foreign import form_needs_samples
from snnattack.interop.prepared import (
    arguments_key,
    passed,
    prepared_once,
    sample_form,
    settled,
    state_of,
)
from snnattack.interop.streams import is_streams
from snnattack.models.base import SpikingNet
from snnattack.preparation.config import job_config, one_name
from snnattack.preparation.evaluation import (
    Data,
    PreparedEvaluation,
    as_a_job,
    call_evaluation,
    run_evaluation,
)
from snnattack.process import numerics
from snnattack.records.results import JobRecord
from snnattack.runtime.cli import group_choices
from snnattack.settings import AttackSettings, AttackSpec, row_recipe
from snnattack.snn.learned import read_learned
from snnattack.values import Rule, as_python, is_number, keywords_checked, near

log = logging.getLogger(__name__)

EVALUATE = (
    "eps",
    "methods",
    "grad_mode",
    "grad_params",
    "boxes",
    "tune",
    "T",
    "seed",
    "masking",
    "progress",
)  # evaluate's arguments that job_config takes


# attack's names of job_config's arguments: its eps, method, grad_mode, grad_params, method's
# keyword arguments (steps=), seed and T, and none for what it fixes itself (white box, no
# tuning, no masking checks, the progress setting)
ATTACK_NAMES = {
    **{a: a for a in ("eps", "grad_mode", "grad_params", "seed", "T")},
    "methods": "method",
    "method_params": "{key}",
    **dict.fromkeys(("boxes", "tune", "masking", "progress")),
}


def _radius_problem(eps: object, spell: Callable[[Any], str]) -> str:
    """What is wrong with ``eps``, a value :data:`ONE_RADIUS` refuses (``spell``: unused, the
    line names no other value)."""
    if isinstance(eps, Sequence | torch.Tensor) and not isinstance(eps, str):
        return "is not one radius"
    if not is_number(eps):
        return "is not a number"
    return "attacks nothing (the clean images)" if eps == 0 else "is out of range"


# attack's eps: one radius, checked before the config's rule, whose message asks for a list
ONE_RADIUS = Rule(
    RADIUS.test,
    "a number in (0, 255] in 1/255 units (snnattack.evaluate takes several)",
    problem=_radius_problem,
)


@dataclass
class _Attack:
    """What :func:`attack` prepares of a model under its arguments (``net`` None: the model
    itself, a SpikingNet; ``classes``: the model's, once a batch checked it)."""

    net: SpikingNet | None
    spec: AttackSpec
    attack: AttackSettings
    samples: inputs.Samples
    malloc: str
    tf32: bool
    deterministic: bool
    classes: int | None = None

    def network(self, model: nn.Module) -> nn.Module:
        """The network the attack runs: the adapted one, or ``model`` itself."""
        return model if self.net is None else self.net


def _prepare_attack(
    model: nn.Module,
    x: Any,
    method: str,
    eps: float,
    grad_mode: str,
    grad_params: dict[str, Any] | None,
    T: int | None,
    seed: int,
    overrides: Sequence[str],
    params: dict[str, Any],
) -> _Attack:
    """:func:`attack`'s preparation of ``model`` (its samples' form read on ``x``)."""
    radius = scalar(eps)  # a 0-d tensor or NumPy array: its number (evaluate takes them too)
    complaint = ONE_RADIUS.complaint("eps", radius, spell=as_python)  # a Python argument
    if complaint is not None:
        raise UserError(complaint)
    inputs.check_call_keys(overrides)
    net = as_spiking_net(model, T, example=x if isinstance(x, torch.Tensor) else None)
    cfg, _ = job_config(
        eps=eps,
        methods=[one_name("method", method, group_choices(CONF_DIR / "method"))],
        grad_mode=grad_mode,
        grad_params=grad_params,
        method_params=params,
        seed=seed,
        T=net.T,
        masking=False,
        overrides=overrides,
        names=ATTACK_NAMES,
        network=net,
        shared=True,  # read into the preparation's settings
    )
    # frozen, and of the kept config read once: a preparation made afresh reads it no more
    (spec,), settings = read_once(
        cfg, "attack rows", lambda: (attack_specs(cfg), attack_settings(cfg))
    )
    if reads_recordings(spec.algorithm):
        raise UserError(
            f"method={method!r} changes raw event streams, which attack() does not take; "
            f"accepted: snnattack.evaluate(model, (streams, labels), methods=[{method!r}], "
            f"...), or method={spec.algorithm + '_frames'!r} (on frames)"
        )
    if needs_fitting(spec.algorithm):
        raise UserError(unfitted(f"method={method}"))
    tuned = [c.name for c in spec.params.get("components", ()) if c.tune]
    if tuned:  # evaluate refuses them without val_data; a batch's examples are still wanted
        log.warning(
            "note: method=%r tunes %s on validation data, which attack() does not take: "
            "they run at their configured parameters (attack.params); tuned, they run in "
            "snnattack.evaluate(..., val_data=...)",
            method,
            ", ".join(tuned),
        )
    net = with_encoding(net, cfg.encoding, "model", model)
    samples = inputs.samples_of(cfg.encoding, cfg.T, cfg.dataset)
    net = None if net is model else net
    return _Attack(net, spec, settings, samples, cfg.malloc, cfg.tf32, cfg.deterministic)


@keywords_checked  # a misspelt keyword named with the one it stands for, not a TypeError
@torch.inference_mode(False)  # called in a validation loop's block: the attacks differentiate
@numerics.kept_generators()  # the data's loaders draw from torch's generator as they start
def evaluate(
    model: nn.Module,
    data: Data,
    *,
    eps: float | Sequence[float] = (8,),
    methods: str | Sequence[str] = ("pgd",),
    grad_mode: str = "stbp",
    grad_params: dict[str, Any] | None = None,
    boxes: str | Sequence[str] = ("white",),
    source: nn.Module | None = None,
    val_data: Data | None = None,
    tune: bool = False,
    T: int | None = None,
    seed: int = 0,
    masking: bool = True,
    progress: bool = True,
    overrides: Sequence[str] = (),
) -> JobRecord:
    """The evaluation a job runs, on ``model`` and ``data`` (images in [0, 1], labels; event
    frames ``[B, T, C, H, W]`` with an event dataset in ``overrides``; or that dataset's event
    streams, tonic's arrays, with their labels, which the attacks on raw events need:
    docs/interop.md).

    ``eps`` are L∞ radii in 1/255 units; ``methods`` are ``method=`` names (``conf/method``,
    ``ensemble`` for the worst case); ``grad_mode`` an ``attack=`` name (``conf/attack``) and
    ``grad_params`` its parameters; ``boxes`` white and/or black (transfer from ``source``).
    ``val_data`` holds the validation images that ``tune=True`` and tuned ensemble components
    choose parameters on, and that a universal method (``event_patch_universal``,
    ``sparsefool_universal``) is fitted on (never ``data``). ``T`` is needed for a network of
    another library (a SpikingNet beside one, as target or source, runs at its own).
    ``overrides`` are further config keys (``"method.pgd.steps=20"``,
    ``"attack.eot_samples=4"``), not the model's own (:data:`snnattack.inputs.MODEL_KEYS`: it
    runs as it is built; ``tf32`` and ``deterministic`` hold for the call, as in a job's
    process), nor what a job writes into its folder (:data:`snnattack.inputs.FOLDER_KEYS`: a
    call has none), nor one of these arguments (``eps``, ``method``, ``attack``, ...: the
    override would overrule the argument). Returns the record a job writes to
    ``metrics.json``, with the masking checks unless ``masking=False``. ``progress`` shows the
    attacks' progress (each row, ensemble component and batch) and the masking checks' on the
    terminal, as a job does; ``progress=False`` is quiet.
    """
    example = inputs.first_sample(data)  # a foreign network's form is probed on it
    if example is None and not is_streams(data):  # the data's mistake, not the adapter's
        inputs.check_readable(data)
    model, source = network_of(model, example), network_of(source, example)
    arguments = (eps, methods, grad_mode, grad_params, boxes, tune, T, seed, masking, progress)
    key = arguments_key(*arguments, overrides, sample_form(example))

    def build() -> PreparedEvaluation:
        named = dict(zip(EVALUATE, arguments, strict=True))
        return call_evaluation(model, source, example, named, overrides)

    def afresh() -> PreparedEvaluation:
        return prepared_once(model, key, build, source, fresh=True, weighed=True)[0]

    prepared, checks = prepared_once(model, key, build, source, weighed=True)

    def settle() -> None:
        settled(model, key, source)

    kept = (checks, afresh, settle)
    return run_evaluation(prepared, model, source, data, val_data, progress, kept=kept)


@torch.inference_mode(False)  # called in a validation loop's block: the attacks differentiate
def attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    method: str = "pgd",
    eps: float = 8,
    grad_mode: str = "stbp",
    grad_params: dict[str, Any] | None = None,
    *,
    T: int | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    **params: Any,
) -> torch.Tensor:
    """Adversarial examples of the batch ``x`` (images in [0, 1]; event frames under an event
    dataset, ``overrides=['dataset=digits_events']``) with labels ``y``, crafted on
    ``model`` by ``method`` (a ``method=`` name, ``ensemble`` included) at the L∞ radius
    ``eps`` (1/255 units) under ``grad_mode`` (an ``attack=`` name) with ``grad_params``.
    ``params`` override the method's settings (``steps=20``; ``alpha`` in 1/255 units),
    ``overrides`` further config keys (an ensemble's ``method.ensemble.components=[...]``; not
    the model's own, :data:`snnattack.inputs.MODEL_KEYS`, nor a folder's,
    :data:`snnattack.inputs.FOLDER_KEYS`, nor one these arguments set, which
    the override would overrule: ``eps``, ``method``, ``attack``, ``seed``, ``boxes``). The
    examples are on the model's device, within ``eps`` of ``x`` and in [0, 1] (an event
    attack's: ``x`` with events changed, counted in events, not ``eps``). The evaluation core
    crafts them (:func:`snnattack.evaluation.core.attack_batch`) on the copy it would attack
    in :func:`evaluate` (``attack.fold_bn``, ``compile``, ``attack.random_eot_samples`` as
    there), seeded by ``seed`` at each call (a loop over batches: ``seed=step`` gives each
    its own random start, as a job's batches have), under the GPU numerics of ``tf32`` and
    ``deterministic`` for the call (the process's own flags and random generators again after it,
    :func:`snnattack.process.numerics.held`);
    the process's allocator is set by ``malloc``, as a job's (``reuse``: freed memory kept for
    the next call, :mod:`snnattack.process.malloc`). A repeated call on an unchanged model
    reuses what the first prepared (:mod:`snnattack.interop.prepared`; what a change it sees
    is: docs/interop.md, "A repeated call"), its check read with the batch's in one host sync
    before the attack starts (:func:`snnattack.inputs.check_attack`)."""
    _check_own_keywords(params)
    inputs.check_tensors(x, y)  # before a form probed on x: x's mistake, not the adapter's
    model = network_of(model, x)
    key = arguments_key(
        method, eps, grad_mode, grad_params, params, T, seed, overrides, sample_form(x)
    )

    def build() -> _Attack:
        return _prepare_attack(
            model, x, method, eps, grad_mode, grad_params, T, seed, overrides, params
        )

    prepared, checks = prepared_once(model, key, build)
    # as a job's, for the call: the check's forward too (the settings are the key's, afresh too)
    with as_a_job(prepared.malloc, prepared.tf32, prepared.deterministic):
        net = prepared.network(model)
        fresh = prepared.classes is None  # its checks run the model (a SpikingNet: its hooks)
        classes = inputs.check_attack(net, model, x, y, prepared.samples, prepared.classes, checks)
        if classes is None:  # the kept preparation's model changed (read with the batch)
            # afresh, or the kept one where only its learned decays moved (taken in)
            prepared, _ = prepared_once(model, key, build, fresh=True)
            fresh = prepared.classes is None  # afresh: checked as at a first call
            if not fresh and not _fits(prepared, prepared.network(model)):
                prepared, fresh = build(), True  # refused in the call's words, as afresh
            net = prepared.network(model)
            classes = inputs.check_attack(net, model, x, y, prepared.samples, prepared.classes)
        if fresh:
            settled(model, key)  # what the check's forward changed is no change next call
        prepared.classes = classes
        # the network of a kept preparation (key): compared with the model above
        return core.attack_batch(prepared.spec, prepared.attack, net, x, y, key is not None)


def _fits(prepared: _Attack, net: nn.Module) -> bool:
    """Whether the gradient modes of the kept ``prepared`` (the row's, an ensemble's
    components') still fit ``net``'s spiking layers at their leak and threshold, which a step
    moves where the neurons learn them: where not, a preparation made afresh refuses the call
    as a first call would, naming the keys that set them (``grad_params``)."""
    recipe, spec = row_recipe(prepared.attack.recipe, prepared.spec), prepared.spec
    parts = spec.params["components"] if spec.algorithm == ENSEMBLE else ()
    modes = [(recipe.grad_mode, recipe.grad_params)]
    modes += [(p.grad_mode, p.grad_params) for p in parts if p.configured_mode]
    read_learned(net)  # the numbers its LIFs run at their next forward
    return all(GRADIENT_MODES[m].layer_complaint(net, params) is None for m, params in modes)


def _check_own_keywords(params: dict[str, Any]) -> None:
    """No keyword of ``params`` (a method's parameters) that no method takes is a misspelt
    argument of :func:`attack` (``epsilon=4``, ``t=4``): named as one, not refused as the
    chosen method's unknown parameter by a list that leaves the arguments out. A dict is
    left to :func:`job_config`'s refusal, which says where a dict of values goes. The
    signature is read only for such a keyword: a repeated call's fixed cost stays the attack's."""
    for name, value in params.items():
        if name in METHOD_PARAMS or name in ENSEMBLE_KEYS or isinstance(value, Mapping):
            continue
        own = [
            n for n, p in inspect.signature(attack).parameters.items() if p.kind != p.VAR_KEYWORD
        ]
        if hint := near(name, own):
            raise UserError(
                f"{name}={value!r} is not an argument of attack() nor a parameter of any "
                f"method{hint}; accepted: {', '.join(own)}, and the method's parameters as "
                "keywords (steps=20)"
            )


@contextmanager
def gradient_mode(
    model: nn.Module,
    mode: str = "stbp",
    *,
    T: int | None = None,
    frames: bool = False,
    **params: float,
) -> Iterator[SpikingNet]:
    """Within the block, the yielded network (``model``, or its adapter for another
    library's network) computes the same forward and differentiates by ``mode`` with
    ``params``; each parameter is checked against the mode's range before the block runs.
    An adapter returns the logits ``[B, K]`` the attacks read: of a model returning
    ``(spk_rec, mem_rec)`` or ``[T, B, K]``, the mean over T of the first, not the tuple.

    ``with snnattack.gradient_mode(net, "rga", beta=2.0) as m: loss(m(x), y).backward()``

    ``frames=True``: the samples are event frames ``[B, T, C, H, W]`` (an event dataset's, as
    :func:`attack` takes them under ``overrides=['dataset=...']``), fed to another library's
    network time first, not repeated over T as images are; a native model must read frames.

    A network whose form its first samples decide (a spikingjelly class with its own time
    loop: :func:`snnattack.interop.adapt`) is adapted at the first forward of the yielded
    module, on the samples it is given, and differentiated by ``mode`` from then on to the
    block's end (adapted after the block: outside the mode, as every yielded network is
    then); :func:`attack`, :func:`evaluate` and ``snnattack.benchmark.evaluate`` on the
    yielded module run that network, made of their samples if no forward made it yet
    (:func:`snnattack.interop.first_forward.network_of`; inside the block refused, as for every
    model: the attack would take the block's gradient). An adapter's parameters are its own
    objects over ``model``'s memory: a backward in the block fills their ``.grad``, not
    ``model``'s; an optimiser over the yielded module's ``parameters()`` trains ``model``
    (docs/interop.md, "What the adapter guarantees"). A later block on the unchanged network
    yields the same adapter (:func:`_adapter`).
    """
    model = unwrapped(model)  # nn.DataParallel: the network in it
    if not isinstance(frames, bool):
        raise UserError(f"frames={as_python(frames)}: accepted: True or False")

    if not form_needs_samples(model):
        native = isinstance(model, SpikingNet)
        net = _reading(model, model, frames) if native else _adapter(model, T, frames)
        with _in_mode(net, mode, params) as net:
            yield net
        return
    check_foreign(model, T)
    try:
        check_mode(mode, params)  # before the block, as for a network adapted now
    except ValueError as err:
        raise UserError(str(err)) from None
    inside = True  # a network made after the block is not in its mode
    with ExitStack() as block:

        def prepare(x: torch.Tensor | None, made: Callable[[SpikingNet], SpikingNet]) -> SpikingNet:
            net = made(_adapter(model, T, frames, x))
            if inside:
                block.enter_context(_in_mode(net, mode, params))
            return net

        try:
            yield OnFirstForward(prepare, type(model).__name__, model.training, T)
        finally:
            inside = False


def _reading(net: SpikingNet, model: nn.Module, frames: bool) -> SpikingNet:
    """``net`` (``model``'s adapter, or ``model``) reading a block's samples: event frames time
    first with ``frames``, images as they are."""
    return with_encoding(net, "frames", "model", model, "frames") if frames else net


def _adapter(
    model: nn.Module, T: int | None, frames: bool, x: torch.Tensor | None = None
) -> SpikingNet:
    """The adapter of another library's ``model`` that a ``gradient_mode`` block yields (its
    form probed on the samples ``x`` of the first forward, for a class whose form they decide):
    the one an earlier block made, while neither the model (:mod:`snnattack.interop.prepared`)
    nor the adapter (a user's ``m.T = 8``, ``m.train()``, ``m.requires_grad_(False)``: its
    public state and what requires a gradient) nor the arguments and the samples' form
    changed, as a repeated :func:`attack` keeps its preparation (every adapter of the network
    holds the same parameter objects, so their gradients are as a new adapter's). A block
    inside one on the same network adapts a copy of its own, so that the two nest."""
    key = arguments_key("gradient_mode", T, frames, sample_form(x))

    def state(net: SpikingNet) -> list[Any]:
        return [state_of(net, public=True), [p.requires_grad for p in net.parameters()]]

    def adapted() -> SpikingNet:
        return _reading(as_spiking_net(model, T, example=x), model, frames)

    def build() -> tuple[SpikingNet, list[Any]]:
        net = adapted()
        return net, state(net)

    def valid(built: tuple[SpikingNet, list[Any]]) -> bool:
        return state(built[0]) == built[1]

    (net, _), checks = prepared_once(model, key, build, valid=valid)
    if not passed(checks):  # the weights changed: read afresh (NaN refused), or taken in
        (net, _), _ = prepared_once(model, key, build, fresh=True, valid=valid)
    return adapted() if in_block(net) else net  # a nested block's own, not kept


@contextmanager
def _in_mode(net: SpikingNet, mode: str, params: dict[str, float]) -> Iterator[SpikingNet]:
    """``net`` differentiated by ``mode`` with ``params`` (checked first), the only
    gradient-mode block on it."""
    try:
        ctx = checked_mode(net, mode, **params)
    except ValueError as err:
        raise UserError(str(err)) from None
    with sole_mode(net, mode), ctx:
        yield net
