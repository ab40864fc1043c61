"""A paper's reported numbers are named as the protocol names its rows (``clean`` or a row), or
by the paper's own attack: ``Clean`` or ``pgd_10`` (a row written otherwise, which would count
as another attack) is refused before any work, naming the key and the name it reads as, from
Python (``reported=``) and on the command line (``benchmark.reported``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import snnattack
from snnattack.benchmark import callback
from snnattack.benchmark.entry import check_reported
from snnattack.errors import UserError

ROWS = "clean, fgsm, rfgsm, pgd, pgd10, pgd40, bim, apgd, apgd_dlr, ensemble, fgsm/transfer"


@pytest.mark.parametrize(
    "key,meant",
    [
        ("Clean", "clean"),
        ("pgd_10", "pgd10"),
        ("clean_acc", "clean"),  # the clean accuracy by another name: shown as a robust number
        ("Clean-Acc", "clean"),
        ("natural", "clean"),
    ],
)
def test_a_reported_name_of_no_row_is_refused_before_any_work(key: str, meant: str) -> None:
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(
            torch.nn.Linear(1, 1), protocol="digits", name="x", reported={key: 60.0}
        )
    assert str(err.value).startswith(
        f"reported names {key}, which reads as {meant}; accepted: {meant} (clean, or a row of "
        f"the protocol by its name: {ROWS.removeprefix('clean, ')}, "
    )


def test_a_papers_own_attack_keeps_its_name() -> None:
    """The paper's PGD-20 or AutoAttack, which no row of the protocol runs: its number counts
    for the gap as any reported robust accuracy."""
    check_reported({"clean": 92.0, "pgd20": 50.0, "autoattack": 45.0}, "reported", ("pgd",))


def job_refusal(folder: Path, reported: dict) -> str:
    """The line a job on a protocol file of two rows (fgsm, pgd) in ``folder`` refuses its
    ``benchmark.reported`` with when it starts."""
    (folder / "two_v1.yaml").write_text(
        "defaults:\n  - override /method: [fgsm, pgd]\nboxes: [white]\n"
        "benchmark:\n  protocol: two\n  version: 1\n"
    )
    block = {"protocol": "two", "version": 1, "name": "x", "reported": reported}
    with pytest.raises(UserError) as err:
        callback.start(OmegaConf.create({"benchmark": block}), folder, folder / "job")
    return str(err.value)


def test_a_jobs_reported_name_of_no_row_is_refused_when_it_starts(tmp_path: Path) -> None:
    assert job_refusal(tmp_path, {"clean": 90, "PGD": 50}) == (
        "benchmark.reported names PGD, which reads as pgd; accepted: pgd (clean, or a row of "
        "the protocol by its name: fgsm, pgd; another attack of the paper by its own name)"
    )


def test_a_jobs_reported_name_of_another_method_is_refused_when_it_starts(
    tmp_path: Path,
) -> None:
    """``AutoAttack`` reads as the method ``autoattack``, no row of this protocol but a row a
    protocol makes: the entry's own check refuses it, so the job refuses it before it runs,
    not once it ran for no entry."""
    (tmp_path / "two_v1.yaml").write_text(
        "defaults:\n  - override /method: [fgsm, pgd]\nboxes: [white]\n"
        "benchmark:\n  protocol: two\n  version: 1\n"
    )
    block = {"protocol": "two", "version": 1, "name": "x", "reported": {"AutoAttack": 40}}
    with pytest.raises(UserError) as err:
        callback.start(OmegaConf.create({"benchmark": block}), tmp_path, tmp_path / "job")
    assert str(err.value).startswith(
        "benchmark.reported names AutoAttack, which reads as autoattack; accepted: autoattack "
        "(clean, or a row of the protocol by its name: fgsm, pgd; "
    )
    with pytest.raises(UserError, match="reads as autoattack"):  # as the entry would say
        check_reported(block["reported"], "reported")


def test_a_jobs_method_of_its_own_is_refused_when_it_starts(tmp_path: Path) -> None:
    """A row made by a method outside the package's ``conf/method/`` (one's own ``-cd``
    folder, ``+method.mine=...``) is no entry's: refused before the job runs, not after."""
    (tmp_path / "two_v1.yaml").write_text(
        "defaults:\n  - override /method: [fgsm, pgd]\nboxes: [white]\n"
        "benchmark:\n  protocol: two\n  version: 1\n"
    )
    block = {"protocol": "two", "version": 1, "name": "x"}
    cfg = {"benchmark": block, "method": {"fgsm": {"name": "fgsm"}, "mine": {"name": "pgd"}}}
    with pytest.raises(UserError) as err:
        callback.start(OmegaConf.create(cfg), tmp_path, tmp_path / "job")
    assert str(err.value).startswith(
        "method.mine is not a method of the package (conf/method/), and an entry's rows are; "
        "accepted: the protocol's methods, or others of apgd, apgd_dlr, autoattack, "
    )


@pytest.mark.parametrize(
    "reported",
    [
        {"clean": 1.0, "pgd": 0.477},  # a clean 1.0 is 100 %: it hid the set's fractions
        {"clean": 0.99, "pgd": 0.477},
        {"clean": 0.5, "pgd": 0.0},
        {"pgd10": 0.477, "autoattack": 0.4},  # robust numbers alone, all below 1
    ],
)
def test_reported_fractions_are_refused_whatever_the_clean_one(reported: dict) -> None:
    with pytest.raises(UserError, match=r"^reported=.* looks like fractions; accepted: "):
        check_reported(reported, "reported")


@pytest.mark.parametrize(
    "reported",
    [
        {"clean": 92.0, "pgd": 0.4},  # an undefended model's robust 0.4 %
        {"clean": 100.0, "pgd": 0.75},
        {"pgd": 1.0},  # 1 %, not 100 % robust
        {"clean": 90.0, "pgd": 0.0},
        {"pgd": 0.0, "autoattack": 0.0},  # no robust sample: the same either way
    ],
)
def test_reported_percentages_below_1_are_taken(reported: dict) -> None:
    check_reported(reported, "reported")


def test_a_jobs_reported_clean_of_1_is_refused_as_fractions_when_it_starts(
    tmp_path: Path,
) -> None:
    assert job_refusal(tmp_path, {"clean": 1.0, "pgd": 0.477}) == (
        "benchmark.reported={'clean': 1.0, 'pgd': 0.477} looks like fractions; accepted: "
        "percentages in [0, 100] (90.7 for 90.7 %)"
    )
