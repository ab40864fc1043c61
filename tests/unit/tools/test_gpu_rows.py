"""The CPU/GPU comparison of ``gpu_check`` in samples, and its rule that gradient modes that
differ on the CPU must differ on the GPU (:mod:`tools.gpu_rows`)."""

from __future__ import annotations

from typing import Any

import pytest

from tools.gpu_rows import beyond, merged_modes, side_by_side, still_right


def metrics(clean: float, *rows: tuple[str, float, float], n: int = 450) -> dict[str, Any]:
    """A ``metrics.json`` of ``n`` samples: clean accuracy and rows (method, ASR, adv acc)."""
    results = [
        {"method": m, "box": "white", "eps_255": 16.0, "asr": asr, "adv_acc": acc, "n": n}
        for m, asr, acc in rows
    ]
    return {"clean_acc": clean, "n": n, "results": results}


def test_rows_are_counted_in_samples_still_right() -> None:
    m = metrics(98.0, ("fgsm", 40.0, 58.0), ("pgd", 80.0, 20.0))
    assert still_right(m) == {"clean": 441, "fgsm white 16/255": 261, "pgd white 16/255": 90}


def test_the_devices_are_side_by_side_and_only_rows_beyond_the_tolerance_fail() -> None:
    cpu = metrics(98.0, ("fgsm", 40.0, 58.0), ("pgd", 80.0, 20.0))
    gpu = metrics(98.0, ("fgsm", 40.0, 58.0 - 100 * 4 / 450), ("pgd", 80.0, 20.0 + 100 * 5 / 450))
    sides = side_by_side(cpu, gpu)
    assert [(s.row, s.apart) for s in sides] == [
        ("clean", 0), ("fgsm white 16/255", 4), ("pgd white 16/255", 5),
    ]  # fmt: skip
    assert [s.row for s in beyond(sides, 4)] == ["pgd white 16/255"]
    assert beyond(sides, 5) == []


def test_jobs_with_other_rows_are_not_compared() -> None:
    with pytest.raises(KeyError, match="are not the GPU's"):
        side_by_side(metrics(98.0, ("fgsm", 40.0, 58.0)), metrics(98.0, ("pgd", 80.0, 20.0)))


def test_modes_that_differ_on_the_cpu_but_not_on_the_gpu_are_named() -> None:
    stbp, rga, bptr = (metrics(98.0, ("pgd", a, 98.0 - a)) for a in (70.0, 75.0, 70.0))
    cpu = {"stbp": stbp, "rga": rga, "bptr": bptr}
    assert merged_modes(cpu, {"stbp": stbp, "rga": rga, "bptr": bptr}) == []
    # rga fell back to stbp on the GPU; bptr equals stbp on the CPU too, so it is not named
    assert merged_modes(cpu, {"stbp": stbp, "rga": stbp, "bptr": bptr}) == [
        ("bptr", "rga"), ("rga", "stbp"),
    ]  # fmt: skip
