"""What each result row says of the models behind it: the target's kind of training, and the
kind, architecture, λ and T of the model the row's box crafts on (white box: the target;
black box: the source); and what the record says of each model: whether it spikes. Every
entrance's record carries them (:mod:`snnattack.evaluation.finish`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from snnattack.records.results import AttackRow, own_architecture, own_setting
from snnattack.settings import ModelSettings
from snnattack.training.base import spikes


def with_kinds(
    rows: list[AttackRow], target: dict, source: dict | None, crafting: dict[str, ModelSettings]
) -> list[AttackRow]:
    """Result rows with the target's kind and the crafting model's kind, architecture, λ and T
    (white box: the target's; black box: the source's). λ is the model's own where its record
    lists its neurons (``model=external``, a model passed to the API: the config's ``lambda``
    is unused there), and so are the architecture and T of a model passed to the API (a
    black-box source may run at another T than the target, whose T the config holds). An ANN
    (a record's ``spiking`` false: a network passed is judged itself) has neither."""
    out = []
    for r in rows:
        model = crafting[r.box]
        record = target if r.box == "white" else source
        spiking = record.get("spiking", spikes(record["kind"]))
        out.append(
            replace(
                r,
                target_kind=target["kind"],
                source_kind=record["kind"],
                source_model=own_architecture(record, model.name),
                # an ANN has no leak and no time steps: the config's values would only label it
                source_lambda=own_setting(record, "lambda", model.tree["lambda"])
                if spiking
                else None,
                source_T=record.get("T", model.tree["T"]) if spiking else None,
            )
        )
    return out


def with_spiking(models: dict[str, dict[str, Any] | None]) -> dict[str, dict[str, Any] | None]:
    """The records of the target and the source (each with its ``kind``), each with whether
    it spikes (``spiking``): a network passed to the Python API as its record says (its own
    LIFs, whatever ``train.kind`` labels it), a model the job builds as its kind says. An ANN
    reads no ``T``, ``lambda``, ``theta`` or ``reset`` (its store key leaves them out), so the
    record's title names none for an ANN target
    (:meth:`~snnattack.records.results.JobRecord.title`), which reads no kind's rules."""
    return {
        role: None if m is None else {**m, "spiking": m.get("spiking", spikes(m["kind"]))}
        for role, m in models.items()
    }
