"""What a row kept for a sweep's later jobs (``attack.reuse``) must be before one is copied.

A later job copies a kept row (``<sweep dir>/.rows/<key>.json``, :mod:`snnattack.evaluation.reuse`)
into its results as it is. :func:`~snnattack.records.results.typed_row` checks each field's
type and range; a row edited by hand or damaged can still pass that and contradict itself (an
ASR that is no share of its clean-correct samples) or be another row than the one the job
would compute at that position (another method, radius or box). Such a row is not copied:
:func:`check_kept` names its first contradiction, and the job computes the row again, as it
does for a kept row that does not parse (the file is then replaced).

The checks are the invariants of a row as the evaluation writes it
(``AttackEvaluator._row``, ``AttackCounts.compute``): its method, radius and box are its
spec's; ``asr`` is ``100 * fooled / n_correct`` and ``adv_acc`` ``100 * adv_correct / n`` of
whole counts (NaN where the count divided by is 0); a sample adversarially correct is one not
fooled, clean-correct or not (``n_correct - fooled <= adv_correct <= n - fooled``); an event
attack's ``l0_hist`` counts each fooled sample once; a targeted spec's row, and only one,
has ``targeted_asr``, ``100 * hits / n_targeted`` of whole counts, whose samples put in
their target class are fooled ones (``hits <= fooled``; a row kept before the field was
computed again: it would be copied without its targeted rate); and a kept row names the job
folder that computed it (``reused_from``).
"""

from __future__ import annotations

from snnattack.records.results import AttackRow, count_of
from snnattack.settings import AttackSpec


def check_kept(row: AttackRow, spec: AttackSpec) -> None:
    """ValueError naming the first field of the kept ``row`` that contradicts another, or the
    row that the job computes for ``spec`` (module docstring)."""
    written = {
        "method": spec.method,
        "eps": spec.eps,
        "eps_255": round(spec.eps * 255, 6),
        "box": spec.box,
    }
    for name, value in written.items():
        if getattr(row, name) != value:
            raise ValueError(f"its {name}={getattr(row, name)!r} is not its job's {value!r}")
    if not isinstance(row.reused_from, str):
        raise ValueError(f"its reused_from={row.reused_from!r} names no job folder")
    if row.n is None:
        raise ValueError("its n=None counts no sample")
    fooled = _count(row.asr, "asr", row.n_correct, "n_correct")
    adv_correct = _count(row.adv_acc, "adv_acc", row.n, "n")
    if None not in (fooled, adv_correct) and not (
        row.n_correct - fooled <= adv_correct <= row.n - fooled
    ):
        raise ValueError(
            f"its adv_acc={row.adv_acc!r} ({adv_correct} of n={row.n}) contradicts its "
            f"asr={row.asr!r} ({fooled} of n_correct={row.n_correct} fooled)"
        )
    _check_targeted(row, spec, fooled)
    if row.l0_hist is not None and sum(row.l0_hist.values()) != (fooled or 0):
        raise ValueError(
            f"its l0_hist counts {sum(row.l0_hist.values())} successes, not the {fooled or 0} "
            f"samples of its asr={row.asr!r}"
        )


def _check_targeted(row: AttackRow, spec: AttackSpec, fooled: int | None) -> None:
    """ValueError where the kept ``row``'s targeted rate is not what the evaluation writes for
    ``spec`` (module docstring); ``fooled``: the samples of its ``asr``."""
    rate, total = row.targeted_asr, row.n_targeted
    if (rate is None) == spec.targeted or (rate is None) != (total is None):
        kind = "a targeted" if spec.targeted else "an untargeted"
        raise ValueError(
            f"its targeted_asr={rate!r} (n_targeted={total!r}) is not {kind} row's "
            "(a targeted row has both, any other neither)"
        )
    if rate is None:
        return
    hits = _count(rate, "targeted_asr", total, "n_targeted")
    if (hits or 0) > (fooled or 0):
        raise ValueError(
            f"its targeted_asr={rate!r} ({hits} of n_targeted={total}) counts more samples "
            f"than its asr={row.asr!r} fooled ({fooled or 0})"
        )


def _count(rate: float, name: str, total: int, of: str) -> int | None:
    """The samples that the percentage ``rate`` (field ``name``) counts of ``total`` (field
    ``of``): :func:`~snnattack.records.results.count_of`; None for the NaN of a ``total`` of
    0. ValueError naming the field where it is no whole count."""
    try:
        return count_of(rate, total, of)
    except ValueError as err:
        raise ValueError(f"its {name}={rate!r} is {err}") from None
