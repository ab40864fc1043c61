"""The reference codes' names for our layers: how a state dict saved by the RGA reference code
(``putshua/SNN_attack_RGA``, ``models/``) or by the SNN-RAT family (``putshua/SNN-RAT``,
``models/``) maps onto a native model, key by key (:func:`namings`, read by
:func:`snnattack.records.checkpoints.from_reference`).

Each naming is read off the native model's own modules, which follow the reference's layer
lists (``models/vgg.py``, ``resnet.py``, ``wrn.py``), so a file is matched by its keys' names
and never by the order it stores them in:

- ``VGG`` (both codes; ``vgg11``, ``vgg16``, and the digits-sized ``digits_net``): the stages
  ``layer1`` .. ``layer5`` of ``_make_layers`` (``Conv2d``, ``BatchNorm2d``, ``LIFSpike`` per
  channel count, ``AvgPool2d`` ending a stage), then ``classifier`` (``Flatten``, then
  ``Linear`` and ``LIFSpike`` in turn); their convs' bias is folded into the BN after them.
  RGA's ``VGGDVS`` (``dvs_vgg``) has the same stages and a classifier without ``Flatten``;
- ``ResNet17``, ``ResNet19`` (``resnet17``, ``resnet19``, ``digits_resnet``): ``pre_conv``,
  ``layer<s>.<b>.conv1`` / ``conv2`` / ``right`` (the first block's projection), each a
  ``conv`` whose ``fwd`` holds ``Conv2d`` and ``BatchNorm2d``, then ``fc1`` (``Linear``,
  ``BatchNorm1d``) and ``fc2``: a bare ``Linear`` in RGA's code, a ``SeqToANNContainer`` of
  one (``fc2.0``) in SNN-RAT's;
- ``WideResNet("wrn16", ...)`` (``wrn16_4``, SNN-RAT): ``conv1``, ``block<g>.<b>`` with
  ``bn1``, ``conv1``, ``bn2``, ``conv2``, ``convShortcut``, ``convex``, then ``bn1`` and ``fc``;
  ``block<g>.layer.<b>`` (the ``NetworkBlock`` of the WRN code it derives from) too.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from snnattack.models.resnet import BasicBlock
from snnattack.models.wrn import PreActBlock
from snnattack.records.checkpoints import Naming
from snnattack.snn.temporal import StepWise

WRN_PARTS = {  # our PreActBlock's modules -> SNN-RAT's BasicBlock's
    "bn1": "bn1",
    "conv1": "conv1",
    "bn2": "bn2",
    "conv2": "conv2",
    "shortcut": "convShortcut",
    "convex": "convex",
}


def _leaf(module: nn.Module, path: str) -> str:
    """The path of the torch layer inside ``module`` at ``path`` (a ``StepWise``'s
    ``.module``)."""
    inner = getattr(module, "module", None)
    return f"{path}.module" if isinstance(inner, nn.Module) else path


def vgg(body: nn.Module, code: str, classifier_from: int = 1) -> list[Naming]:
    """The VGG names: ``classifier_from`` is the index of the classifier's first ``Linear``
    (1 after their ``Flatten``, 0 in ``VGGDVS``)."""
    layers, folds = {}, {}
    stage, slot, linear, conv = 1, 0, classifier_from, ""
    for path, module in body.named_modules(prefix="body"):
        if isinstance(module, nn.Conv2d):
            conv = f"layer{stage}.{slot}"
            layers[conv] = path
            slot += 1
        elif isinstance(module, nn.BatchNorm2d):
            layers[f"layer{stage}.{slot}"] = path
            folds[conv] = path
            slot += 2  # the BN and the LIFSpike after it
        elif isinstance(module, nn.AvgPool2d):
            stage, slot = stage + 1, 0
        elif isinstance(module, nn.Linear):
            layers[f"classifier.{linear}"] = path
            linear += 2  # the Linear and the LIFSpike after it
    return [Naming(code, layers, folds)]


def resnet(body: nn.Module, code: str) -> list[Naming]:
    """The RGA and SNN-RAT ``ResNet17/19`` names (they differ only in ``fc2``)."""
    convs: list[tuple[str, str]] = []  # (their conv, our StepWise conv-BN)
    stage, block = 0, 0
    for name, child in body.named_children():
        if isinstance(child, BasicBlock):
            projects = not isinstance(child.shortcut, nn.Identity)
            stage, block = (stage + 1, 0) if projects else (stage, block)
            at, ours = f"layer{stage}.{block}", f"body.{name}"
            convs += [(f"{at}.conv1", f"{ours}.residual.0"), (f"{at}.conv2", f"{ours}.residual.2")]
            convs += [(f"{at}.right", f"{ours}.shortcut")] if projects else []
            block += 1
        elif not convs and isinstance(child, StepWise):  # the stem
            convs.append(("pre_conv", f"body.{name}"))
    layers = {}
    for theirs, ours in convs:
        layers |= {f"{theirs}.fwd.0": f"{ours}.module.0", f"{theirs}.fwd.1": f"{ours}.module.1"}
    tail = [p for p, m in body.named_modules(prefix="body") if isinstance(m, nn.Linear)]
    norm = [p for p, m in body.named_modules(prefix="body") if isinstance(m, nn.BatchNorm1d)]
    layers |= {"fc1.0": tail[0], "fc1.1": norm[0]}
    return [
        Naming(f"RGA's {code}", {**layers, "fc2": tail[1]}),
        Naming(f"SNN-RAT's {code}", {**layers, "fc2.0": tail[1]}),
    ]


def wide_resnet(body: nn.Module, code: str) -> list[Naming]:
    """SNN-RAT's ``WideResNet`` names, its blocks directly in ``block<g>`` or in a
    ``NetworkBlock``'s ``layer``."""
    found: dict[str, str] = {}  # their names with "{sep}" between the group and the block
    group = 0
    linear = [p for p, m in body.named_modules(prefix="body") if isinstance(m, nn.Linear)]
    for name, child in body.named_children():
        if isinstance(child, nn.Sequential) and isinstance(child[0], PreActBlock):
            group += 1
            for index, block in enumerate(child):
                for ours, theirs in WRN_PARTS.items():
                    module = getattr(block, ours)
                    if module is not None:
                        path = _leaf(module, f"body.{name}.{index}.{ours}")
                        found[f"block{group}{{sep}}{index}.{theirs}"] = path
        elif isinstance(child, StepWise) and isinstance(child.module, nn.Conv2d | nn.BatchNorm2d):
            found["bn1" if group else "conv1"] = f"body.{name}.module"  # stem, final BN
    found["fc"] = linear[-1]
    return [
        Naming(code, {k.format(sep=sep): v for k, v in found.items()}) for sep in (".", ".layer.")
    ]


NAMINGS: dict[str, Callable[[nn.Module], list[Naming]]] = {
    "vgg11": lambda body: vgg(body, "the VGG('vgg11') of RGA and SNN-RAT"),
    "vgg16": lambda body: vgg(body, "the VGG('vgg16') of RGA and SNN-RAT"),
    "dvs_vgg": lambda body: vgg(body, "RGA's VGGDVS('vggdvs')", classifier_from=0),
    "digits_net": lambda body: vgg(body, "a digits-sized VGG of RGA and SNN-RAT"),
    "resnet17": lambda body: resnet(body, "ResNet17"),
    "resnet19": lambda body: resnet(body, "ResNet19"),
    "digits_resnet": lambda body: resnet(body, "ResNet17/19 layout (digits-sized)"),
    "wrn16_4": lambda body: wide_resnet(body, "SNN-RAT's WideResNet('wrn16')"),
}


def namings(arch: str, model: nn.Module) -> list[Naming]:
    """The reference codes' names for ``model``'s layers (``model.name`` = ``arch``); none
    for an architecture that has no reference counterpart."""
    body = getattr(model, "body", None)
    if arch not in NAMINGS or body is None:
        return []
    return NAMINGS[arch](body)
