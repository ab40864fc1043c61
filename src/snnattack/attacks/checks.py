"""The attacks' keys and rules, declared beside their code for the validation before any work
(:func:`snnattack.config.validation.validate` reads them from :mod:`snnattack.values`): the names of
``method=``, the parameters each method takes (an ensemble's components too, parsed from the
config by :func:`snnattack.attacks.parse.components`), the tuning grids,
the convergence curve's counts, what an event attack needs of the data, a targeted attack's
class, and the notes on settings that do less than they say.

A sweep may set a key for every job although some of its jobs cannot use it (``attack.tune``
swept over ``attack=stbp,bptr``: BPTR has no parameter; ``attack.steps_curve`` with
``method=[fgsm,pgd]``: FGSM has no iterations; a curve to 200 with PGD-7 beside SA-PGD-200:
PGD's curve stops at 7); those jobs run, and say so (:func:`notes`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from omegaconf import OmegaConf
from torch import nn

from snnattack.attacks.convergence import curve_reach, followed, iterations
from snnattack.attacks.ensemble import ENSEMBLE, ENSEMBLE_KEYS, Component, row_modes
from snnattack.attacks.grids import check_grid, tunable
from snnattack.attacks.methods import GRADIENT_FREE, METHODS, reads_recordings, takes_eot
from snnattack.attacks.methods.base import drawing_targets
from snnattack.attacks.methods.event_patch import patch_side
from snnattack.attacks.methods.retime import check_budget
from snnattack.attacks.parse import attack_specs, components
from snnattack.config.combinations import fit_layers, fit_neurons
from snnattack.config.keys import choice_files, file_keys, loaded
from snnattack.config.plain_rules import fraction_note
from snnattack.data import DATAMODULES
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, check_params
from snnattack.package import CONF_DIR
from snnattack.settings import PASSED
from snnattack.snn.encoding import RANDOM_ENCODINGS
from snnattack.values import (
    CHECKS,
    KEYS,
    NOTES,
    accepted_params,
    as_typed,
    check_as,
    declare,
    near,
    one_of,
    params_known,
)

declare({"method.*.name": one_of(*METHODS, ENSEMBLE)})


# the networks of the user's (model=external, the API's passed one), whose forward may be random
OWN_MODELS = frozenset({"external", PASSED})
# gradient passes per batch past which a job does not finish: at 1 ms a pass (the quick
# start's digits_net took 28 ms an STBP step on 2 cores, docs/performance.md), over a day a batch
ENDLESS_PASSES = 10**8


@CHECKS.register("method_params", order=KEYS - 1)  # before the per-key rules
def _method_params(resolved: dict[str, Any]) -> None:
    """Each method of ``method=`` is named and sets only its own parameters; before the
    per-key rules, which would refuse one it does not take by another method's range
    (``method=[fgsm] method.fgsm.steps=0`` is unknown to FGSM, not out of range)."""
    if not resolved.get("method"):
        raise ConfigError(
            "method=[] selects no method; accepted: one or more of "
            f"{', '.join(p.stem for p in choice_files(CONF_DIR, 'method'))}, e.g. method=[pgd]"
        )
    selected = [key for key, method in resolved["method"].items() if "name" in method]
    for key, method in resolved["method"].items():
        file = CONF_DIR / "method" / f"{key}.yaml"
        ours = file.is_file()  # the package's file; else a user's folder's, or none
        if "name" not in method and ours and "name" not in file_keys(file):
            raise ConfigError(
                f"conf/method/{key}.yaml sets no name (method.{key}.name), the method it runs; "
                f"accepted: a line name: <one of {', '.join(METHODS)}, {ENSEMBLE}>"
            )
        if "name" not in method:  # an experiment's settings of a method the override dropped
            # (or, not the package's, a method file of the user's folder without its name)
            file_of_yours = "" if ours else f" or whose file (method/{key}.yaml) sets no name"
            raise ConfigError(
                f"method.{key} sets {', '.join(method)} of {key}, which is not in "
                f"method=[{','.join(selected)}]{file_of_yours}; accepted: add {key} to "
                f"method=[...], or drop its settings with '~method.{key}'"
                + ("" if ours else "; or the file's line name: <the method it runs>")
            )
        if method["name"] == ENSEMBLE:  # its components, parsed from the config: _ensembles
            own = [k for k in ENSEMBLE_KEYS if k != "name"]
            for name, value in method.items():
                if name not in ENSEMBLE_KEYS:
                    raise ConfigError(
                        f"method.{key}.{name}={as_typed(value)} is unknown{near(name, own)}; "
                        f"accepted: {', '.join(own)}"
                    )
            continue
        if not isinstance(method["name"], str) or method["name"] not in METHODS:
            continue  # its rule (method.*.name) names the methods
        params = {k: v for k, v in method.items() if k != "name"}
        try:
            params_known(f"method.{key}", params, METHODS[method["name"]].make, skip=2)
        except ConfigError as err:
            if method["name"] == key or key not in METHODS:
                raise
            raise ConfigError(  # method.pgd.name=fgsm: pgd's file's settings left to fgsm
                f"{err} (method.{key}.name={method['name']}: the settings are method={key}'s "
                f"file's; choose method=[{method['name']}] for {method['name']}'s)"
            ) from None


@CHECKS.register("methods_average_draws", order=0)
def _methods_average_draws(resolved: dict[str, Any]) -> None:
    """attack.eot_samples > 1 asks every method to average draws: one that cannot is refused
    (attack.random_eot_samples raises only those that can)."""
    if resolved["attack"].get("eot_samples", 1) <= 1:
        return
    for key, method in resolved["method"].items():
        if method["name"] == ENSEMBLE:  # its components' own: _ensembles
            continue
        if not takes_eot(method["name"]):
            accepted = ", ".join(m for m in METHODS if takes_eot(m))
            raise ConfigError(
                f"attack.eot_samples={resolved['attack']['eot_samples']} does not "
                f"apply to method={key}; accepted: 1, or the methods {accepted}"
            )


@CHECKS.register("ensembles", order=0.5)  # after every method's own parameters
def _ensembles(resolved: dict[str, Any]) -> None:
    """Each worst-case ensemble of ``method=`` (its components are parsed from the config:
    :func:`~snnattack.attacks.parse.components`)."""
    for key, method in resolved["method"].items():
        if method["name"] == ENSEMBLE:
            _ensemble_params(resolved, key)


def _ensemble_params(resolved: dict[str, Any], key: str) -> None:
    """Every component of an ensemble names an attack= and a method= that exist, with
    parameters their functions accept, each by the rule of the same top-level key
    (``method.<method>.<name>``), tunes only a gradient mode with parameters, shares one
    threat model with the others, and attacks frames (the ensemble hands its components no
    raw recordings)."""
    entries = resolved["method"][key]["components"]
    parts = components(OmegaConf.create(resolved), key)
    for entry, part in zip(entries, parts, strict=True):
        where = f"method.{key}.components.{part.name}"
        if reads_recordings(part.algorithm):
            # the ensemble crafts on the batch's frames only: the attack stopped on a traceback
            raise ConfigError(
                f"{where}={part.method} attacks the raw recordings, which an ensemble does not "
                f"hand its components; accepted: method=[{part.method}] as its own row, or a "
                "component on frames (gsattack_frames, its attack on binary frames)"
            )
        method = METHODS[part.algorithm].make
        params_known(f"{where}.params", part.params, method, 2, ruled_as=f"method.{part.method}")
        for name, value in (entry.get("params") or {}).items():
            check_as(f"method.{part.method}.{name}", value, f"{where}.params.{name}")
        if part.tune and (part.attack is None or not tunable(part.grad_mode)):
            what = "is gradient-free" if part.attack is None else "has no parameter to tune"
            raise ConfigError(
                f"{where}.tune=true has nothing to tune: {part.name} {what}; accepted: "
                f"tune: false, or tune: true on an attack with parameters "
                f"({', '.join(m for m in GRADIENT_MODES if tunable(m))})"
            )
        if part.tune:
            check_grid(resolved, part.grad_mode)
        if part.attack is not None:
            check_params(
                f"method.{key}.components.{part.name}.attack_params",
                part.grad_params,
                part.grad_mode,
                f"attack={part.attack}",
            )
            prefix = f"method.{key}.components.{part.name}.attack_params."
            fit_neurons(resolved, prefix, part.grad_mode, part.grad_params, f"attack={part.attack}")
    _one_threat_model(key, parts)


def fit_components(
    resolved: dict[str, Any], net: nn.Module | None, source: nn.Module | None = None
) -> None:
    """Each ensemble component's gradient mode fits the spiking layers of the networks it
    differentiates at their own leak and threshold, as the job's does
    (:func:`~snnattack.config.combinations.fit_network`): a passed network's neurons, which
    the config's ``lambda`` (:func:`_ensemble_params`) does not describe. Refused before any
    work, not at the component's craft after the rows before it ran, and named by the
    component's keys, never an argument's. A tuned component's values are chosen among its
    grid's points that fit (:mod:`snnattack.attacks.tuning`)."""
    cfg = OmegaConf.create(resolved)  # its ``method`` and ``boxes`` blocks, resolved
    for key in (k for k, method in resolved["method"].items() if method["name"] == ENSEMBLE):
        for part in components(cfg, key):
            if part.configured_mode:  # a tuned one's grid is fitted
                where = f"method.{key}.components.{part.name}"
                params, chosen = dict(part.grad_params), f"{where}.attack={part.attack}"
                prefix, boxes = f"{where}.attack_params.", resolved["boxes"]
                fit_layers(part.grad_mode, params, prefix, chosen, boxes, net, source)


def _one_threat_model(key: str, parts: list[Component]) -> None:
    """The components of an ensemble share one threat model: its per-sample worst case is one
    number only within one budget (an L∞ radius and a count of flipped events are not)."""
    threats: dict[str, list[str]] = {}
    for part in parts:
        threats.setdefault(METHODS[part.algorithm].threat(part.params), []).append(part.name)
    if len(threats) > 1:
        mixed = "; ".join(f"{t}: {', '.join(names)}" for t, names in threats.items())
        raise ConfigError(
            f"method.{key}.components mixes threat models ({mixed}); accepted: components of "
            "one threat model (each other threat model as its own method= row)"
        )


@CHECKS.register("tuned_grids", order=1)
def _tuned_grids(resolved: dict[str, Any]) -> None:
    """Every grid of ``attack.tune.grids`` is one, whether this job tunes or not (a sweep over
    ``attack=`` refuses a bad grid in all of its jobs, before any work), and with
    ``attack.tune.enabled`` the job's gradient mode has a grid."""
    tune = resolved["attack"].get("tune") or {}
    modes = [resolved["attack"]["grad_mode"]] if tune.get("enabled") else []
    for mode in tune.get("grids") or {}:
        if mode not in GRADIENT_MODES:
            tunables = [m for m in GRADIENT_MODES if tunable(m)]
            raise ConfigError(
                f"attack.tune.grids.{mode} is the grid of no gradient mode{near(mode, tunables)}"
                f"; accepted: grids of the modes with parameters, {', '.join(tunables)}"
            )
    for mode in dict.fromkeys([*modes, *(tune.get("grids") or {})]):
        check_grid(resolved, mode)


@CHECKS.register("curve_within_steps", order=2)
def _curve_within_steps(resolved: dict[str, Any]) -> None:
    """Some method with iterations reaches every count of ``attack.steps_curve`` (a method
    that stops short has the counts it reaches, with a note: :mod:`.notes`)."""
    counts = resolved["attack"].get("steps_curve") or []
    reach = curve_reach(resolved) if counts else {}
    if reach and max(counts) > max(reach.values()):
        raise ConfigError(
            f"attack.steps_curve={counts} goes beyond {', '.join(reach)} (the counts are "
            f"iterations of a method); accepted: counts <= {max(reach.values())}, or more steps"
        )


@CHECKS.register("event_attacks_fit_frames", order=8)
def _event_attacks_fit_frames(resolved: dict[str, Any]) -> None:
    """An event attack needs an event dataset whose frame values are the ones its threat model
    changes; an L-infinity attack's [0, 1] box does not hold integer counts. An ensemble's
    components are held to it as their own rows are."""
    values = resolved["dataset"].get("params", {}).get("event_encoding")
    for where, _, name, _ in _methods(resolved):
        accepted = METHODS[name].events
        if accepted and values is None:
            events = [
                n for n, d in DATAMODULES.items() if "event_encoding" in accepted_params(d, 0)
            ]
            raise ConfigError(
                f"{where}={name} attacks event frames, but dataset="
                f"{resolved['dataset']['name']} has none; accepted: an event dataset "
                f"({', '.join(events)})"
            )
        if accepted and values not in accepted:
            raise ConfigError(
                f"{where}={name} changes {' or '.join(accepted)} frames, but "
                f"dataset.params.event_encoding={values}; accepted: "
                + ", ".join(f"dataset.params.event_encoding={v}" for v in accepted)
            )
        if not accepted and values == "counts":
            raise ConfigError(
                f"{where}={name} perturbs within the [0, 1] box, which does not hold the "
                "integer event counts of dataset.params.event_encoding=counts; accepted: "
                "dataset.params.event_encoding=scaled or binary, or an event attack"
            )


def _methods(resolved: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """Each method of ``method=`` and each component of its ensembles: where it is set
    (``method.retime_l0``, ``method.ensemble.components.retime_l0/stbp``), the key of its
    parameters (the same, or the component's ``....params``), its method's name and its
    parameters."""
    for key, method in resolved["method"].items():
        if method["name"] != ENSEMBLE:
            yield f"method.{key}", f"method.{key}", method["name"], method
            continue
        for part in components(OmegaConf.create(resolved), key):
            where = f"method.{key}.components.{part.name}"
            yield where, f"{where}.params", part.algorithm, part.params


@CHECKS.register("retime_budget_fits_T", order=9)
def _retime_budget_fits_T(resolved: dict[str, Any]) -> None:
    """Spike-Retiming needs two time bins, and its B∞ budget moves a spike within the T bins
    (:func:`check_budget`)."""
    for where, params, name, method in _methods(resolved):
        if name == "retime":
            norm, budget = method.get("norm", "linf"), method.get("budget", 1)  # Retime's
            check_budget(where, params, norm, budget, resolved["T"])


@CHECKS.register("event_patch_covers_a_pixel", order=9)
def _event_patch_covers_a_pixel(resolved: dict[str, Any]) -> None:
    """An AE-Patch's ``area`` covers at least one pixel of the dataset's frames
    (:func:`patch_side`)."""
    size = resolved["dataset"].get("image_size")
    for _, params, name, method in _methods(resolved):
        patch = name in ("event_patch", "event_patch_universal")
        if patch and "area" in method and size is not None:  # else the attack's own check
            patch_side(params, method["area"], size, size)


@CHECKS.register("temperature_anneals_down", order=9)
def _temperature_anneals_down(resolved: dict[str, Any]) -> None:
    """GSAttack's Gumbel-softmax temperature is annealed from ``max_tau`` down to ``min_tau``:
    a ``min_tau`` above ``max_tau`` would raise it step by step instead."""
    for _, params, _, method in _methods(resolved):
        low, high = method.get("min_tau"), method.get("max_tau")
        if low is not None and high is not None and low > high:
            raise ConfigError(
                f"{params}.min_tau={low} is above {params}.max_tau={high}, but the "
                "temperature is annealed from max_tau down to min_tau; accepted: "
                f"{params}.min_tau <= {params}.max_tau"
            )


@CHECKS.register("attack_target_is_a_class", order=10)
def _attack_target_is_a_class(resolved: dict[str, Any]) -> None:
    """A targeted attack's ``target`` is one of the dataset's classes (-1: untargeted), or
    ``random`` where the method draws one per sample."""
    classes = resolved["dataset"]["num_classes"]
    for _, params, name, method in _methods(resolved):
        target = method.get("target")
        if isinstance(target, str) and name not in drawing_targets():
            takers = ", ".join(drawing_targets())
            raise ConfigError(
                f"{params}.target={target!r} draws a target class per sample, which "
                f"method={name} does not; accepted: -1 (untargeted) or 0 .. {classes - 1} "
                f"(target=random: {takers})"
            )
        if isinstance(target, int) and target >= classes:
            raise ConfigError(
                f"{params}.target={target} is not a class of dataset="
                f"{resolved['dataset']['name']}; accepted: -1 (untargeted) or 0 .. {classes - 1}"
            )


def _short_steps(resolved: dict[str, Any]) -> list[str]:
    """A note per method whose steps of ``alpha`` together move less than a tenth of the
    smallest radius: torchattacks' ``alpha=2/255`` given where this project takes 1/255 units
    (``alpha=2``) leaves the attack where its start put it."""
    out = []
    radii = [e for e in resolved["eps"] if e > 0]
    for key, method in resolved["method"].items() if radii else ():
        alpha, steps = method.get("alpha"), method.get("steps")
        if not isinstance(alpha, int | float) or not isinstance(steps, int):
            continue
        if 0 < alpha < 1 and alpha * steps < min(radii) / 10:
            out.append(
                f"method.{key}.alpha={alpha:.4g}: its {steps} steps move at most "
                f"{alpha * steps:.2g}/255, under a tenth of eps={min(radii):g} (alpha is in 1/255 "
                f"units, alpha=2 is 2/255); {alpha:.4g} of the range is alpha={alpha * 255:.4g}"
            )
    return out


def eager_modes(resolved: dict[str, Any], anns: Collection[str]) -> list[str]:
    """The gradient modes a resolved config attacks with (its recipe's where a row reads it,
    its ensembles' components') that a ``torch.compile``'d copy cannot differentiate
    (:attr:`~snnattack.gradients.base.GradientMode.compiles`): with ``compile=true`` the
    attacked copy runs eager for them (a note says so). Rows of the boxes ``anns`` craft on an
    ANN (:func:`~snnattack.training.checks.ann_boxes_of`: an ANN target's white-box rows, an
    ANN source's black-box rows), which runs its own autograd, no mode; the masking checks'
    probes with the job's mode run on a copy never compiled: neither keeps a mode here
    (:func:`snnattack.evaluation.attacked.compiles` decides alike)."""
    specs = attack_specs(OmegaConf.create(resolved))
    modes = row_modes(resolved["attack"]["grad_mode"], specs, probed=False, anns=anns)
    return [mode for mode in modes if not GRADIENT_MODES[mode].compiles]


def _eot_on_a_fixed_forward(resolved: dict[str, Any]) -> list[str]:
    """``attack.eot_samples`` > 1 where every draw is the same: the draws differ only where
    the forward is random, which a model of this package's is only through a random encoding
    (:data:`~snnattack.snn.encoding.RANDOM_ENCODINGS`; the attacks run it in evaluation mode,
    no dropout); a network of the user's (``model=external``, the API's passed one) may be
    random itself. Elsewhere each gradient costs N passes for the one of a single pass."""
    draws = resolved["attack"].get("eot_samples", 1)
    models = {resolved["model"]["name"], resolved.get("source_model")}
    if draws <= 1 or resolved["encoding"] in RANDOM_ENCODINGS or models & OWN_MODELS:
        return []
    return [
        f"attack.eot_samples={draws} averages {draws} forward passes per gradient, but with "
        f"encoding={resolved['encoding']} and model={resolved['model']['name']} the forward is "
        f"not random (the attacks run it in evaluation mode): the {draws} draws are the same "
        f"and each gradient costs {draws} passes for the one of a single pass; draws differ "
        f"with a random encoding ({', '.join(RANDOM_ENCODINGS)}) or a model=external whose "
        f"forward is random (attack.random_eot_samples={draws} draws only there)"
    ]


def _poisson_draws_unread(resolved: dict[str, Any]) -> list[str]:
    """An ensemble's ``poisson_eot_samples`` set away from its file's value under an encoding
    that draws nothing: it raises the components' draws under a random encoding only, so a
    sweep over it repeats the same rows under each value."""
    if resolved["encoding"] in RANDOM_ENCODINGS:
        return []
    out = []
    for key, method in resolved["method"].items():
        path = CONF_DIR / "method" / f"{key}.yaml"
        given = method.get("poisson_eot_samples")
        if method["name"] != ENSEMBLE or given is None or not path.is_file():
            continue
        if given != loaded(path).get("poisson_eot_samples"):
            out.append(
                f"method.{key}.poisson_eot_samples={given} is not read with "
                f"encoding={resolved['encoding']}: it raises the components' draws under a "
                f"random encoding ({', '.join(RANDOM_ENCODINGS)}) only; they average "
                f"attack.eot_samples={resolved['attack'].get('eot_samples', 1)}"
            )
    return out


def _queries(where: str, params: dict[str, Any]) -> tuple[str, int, str]:
    """A gradient-free method's query budget as the user sets it (``where`` its parameters'
    key: ``method.square``, ``method.ensemble.components.square.params``), and its forward
    passes per batch (``n_queries`` x ``n_restarts``, each query one pass of the samples still
    correct)."""
    restarts = params.get("n_restarts", 1)
    named = f"{where}.n_queries={params['n_queries']}" + f" x n_restarts={restarts}" * (
        restarts > 1
    )
    return named, params["n_queries"] * restarts, "forward"


def _component_draws(resolved: dict[str, Any], key: str, part: Component) -> tuple[str, int]:
    """The draws each gradient of an ensemble's component averages, as the setting that asks
    them (``attack.eot_samples``, the ensemble's ``poisson_eot_samples`` under a random
    encoding, or ``attack.random_eot_samples`` where higher: the draws of a random forward,
    :func:`~snnattack.evaluation.attacked.with_random_eot`), and their count; ``""`` and 1
    for a single draw."""
    random_eot = resolved["attack"].get("random_eot_samples") or 1
    if takes_eot(part.algorithm) and random_eot > part.eot_samples:
        return f"attack.random_eot_samples={random_eot} (where the forward is random)", random_eot
    if part.eot_samples <= 1:
        return "", 1
    if part.eot_samples == resolved["attack"].get("eot_samples", 1):
        return f"attack.eot_samples={part.eot_samples}", part.eot_samples
    return f"method.{key}.poisson_eot_samples={part.eot_samples}", part.eot_samples


def _ensemble_passes(resolved: dict[str, Any], key: str) -> list[tuple[str, int, str]]:
    """The passes per batch of the ensemble ``method.<key>``, by its components' settings as
    the user reads them (``method.<key>.components.<component>.params....``, the form of the
    ensemble's other checks): its longest gradient component's (iterations x restarts x the
    draws its gradients average; counted by the longest as ``method=``'s methods are, a
    lower bound: the later components attack the samples the earlier ones left) and each
    gradient-free component's queries."""
    gradient, out = None, []
    for part in components(OmegaConf.create(resolved), key):
        where = f"method.{key}.components.{part.name}.params"
        if part.algorithm in GRADIENT_FREE:
            if "n_queries" in part.params:
                out.append(_queries(where, part.params))
            continue
        total = iterations(part.algorithm, part.params) or 1  # FGSM: one gradient
        runs = f"{where}.steps={part.params.get('steps', total)}" * ("steps" in part.params)
        if runs and part.params.get("n_restarts", 1) > 1:
            runs += f" x n_restarts={part.params['n_restarts']}"
        drawn, draws = _component_draws(resolved, key, part)
        named = ", ".join(filter(None, [runs, drawn])) or f"method.{key}.components.{part.name}"
        if gradient is None or total * draws > gradient[1]:
            gradient = (named, total * draws, "gradient")
    return ([gradient] if gradient else []) + out


def _endless(resolved: dict[str, Any]) -> list[str]:
    """The passes per batch past :data:`ENDLESS_PASSES`, one line each: the gradient passes of
    the longest iterative attack (iterations x restarts) times the draws each gradient averages
    (``attack.eot_samples``, or ``attack.random_eot_samples`` where higher: the draws of a
    random forward), and the forward passes of a gradient-free method's query budget (Square:
    ``n_queries`` x ``n_restarts``, each query one pass of the samples still correct). An
    ensemble's components are counted as their own methods, named by their key paths
    (:func:`_ensemble_passes`): a Square component's ``n_queries=10000000000`` is as endless
    as a top-level Square's."""
    attack = resolved["attack"]
    eot, random_eot = attack.get("eot_samples", 1), attack.get("random_eot_samples") or 1
    draws = max(eot, random_eot)  # each iteration's gradient averages these passes
    every = curve_reach(resolved, every=True) or {"": 1}
    runs, total = max(every.items(), key=lambda item: item[1])
    drawn = f"attack.eot_samples={eot}" * (eot > 1)
    if random_eot > eot:
        drawn = f"attack.random_eot_samples={random_eot} (where the forward is random)"
    own = [m["name"] for m in resolved["method"].values() if m["name"] != ENSEMBLE]
    gradients = any(name not in GRADIENT_FREE for name in own)
    counts = [(", ".join(filter(None, [runs, drawn])), total * draws, "gradient")] * gradients
    for key, method in resolved["method"].items():
        if method["name"] in GRADIENT_FREE and "n_queries" in method:
            counts.append(_queries(f"method.{key}", method))
        if method["name"] == ENSEMBLE:
            counts += _ensemble_passes(resolved, key)
    return [
        f"{named}: {passes:.3g} {kind} passes per batch, over {passes / 1000 / 86400:.3g} days "
        "a batch at 1 ms a pass: the job does not finish in any realistic time"
        for named, passes, kind in counts
        if passes > ENDLESS_PASSES
    ]


@NOTES.register("attacks")
def notes(resolved: dict[str, Any]) -> list[str]:
    """The notes of a resolved config on its attacks, one line each."""
    out = []
    fractions = [e for e in resolved["eps"] if 0 < e < 1]
    out += fraction_note("eps", fractions[0]) if fractions else []
    out += _eot_on_a_fixed_forward(resolved)
    out += _poisson_draws_unread(resolved)
    out += _short_steps(resolved)
    attack = resolved["attack"]
    mode = attack["grad_mode"]
    if (attack.get("tune") or {}).get("enabled") and not tunable(mode):
        out.append(
            f"attack.tune.enabled=true tunes nothing with attack.grad_mode={mode}: it has no "
            "parameter to tune; its rows run as they are"
        )
    out += _endless(resolved)
    counts = attack.get("steps_curve") or []
    for key, method in resolved["method"].items() if counts else ():
        why = None
        if iterations(method["name"], method) is None:
            why = "it has no iterations of its own"
        elif not followed(method["name"]):
            why = (
                "each of its steps runs only the samples it has not fooled yet, which the "
                "curve cannot follow"
            )
        if why:
            out.append(
                f"attack.steps_curve={counts} gives no curve for method={key}: {why}; its "
                "asr_curve is null"
            )
    for runs, total in (curve_reach(resolved) if counts else {}).items():
        if max(counts) > total:
            out.append(
                f"attack.steps_curve={counts}: the counts above {runs} are left out of its curve"
            )
    return out
