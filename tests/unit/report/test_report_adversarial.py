"""The report's adversarial-training table and robust-vs-cost figure, from synthetic jobs."""

import json
from pathlib import Path

from snnattack.report import write_report


def job(
    folder: Path,
    method: str | None,
    mode: str,
    attack: str,
    key: str,
    accs: dict,
    kind: str = "stbp",
    spec: dict | None = None,
) -> None:
    """A metrics.json of one attack job on the target ``key`` (of ``train.kind`` ``kind``,
    stored with ``spec``): ``accs`` is (method, box) -> %."""
    folder.mkdir(parents=True)
    adversary = {"method": method, "grad_mode": mode, "reg": 0.0, "eps": 16}
    config = {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "T": 4,
        "seed": 0,
        "attack": {"grad_mode": attack},
        "train": {"kind": kind, "adversary": adversary},
    }
    results = [
        {
            **{"method": m, "box": box, "eps_255": 16, "grad_mode": attack},
            **{"adv_acc": acc, "asr": 100 - acc, "n_correct": 97},
        }
        for (m, box), acc in accs.items()
    ]
    craft = 0.0 if method is None else 30.0
    target = {
        "key": key,
        "train_craft_seconds": craft,
        "train_update_seconds": 10.0,
        "train_loop_seconds": craft + 10.0,
        "adversary_gradients_per_epoch": 0 if method is None else 700,
    }
    if spec is not None:
        target["spec"] = spec
    metrics = {
        "config": config,
        "clean_acc": 97.0,
        "n": 100,
        "results": results,
        "models": {"target": target},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_robust_accuracy_is_the_worst_attack_over_the_jobs_of_one_model(tmp_path: Path) -> None:
    job(
        tmp_path / "0", "pgd", "rga", "stbp", "a", {("pgd", "white"): 80.0, ("apgd", "white"): 78.0}
    )
    job(
        tmp_path / "1", "pgd", "rga", "bptr", "a", {("pgd", "white"): 75.0, ("apgd", "white"): 79.0}
    )
    job(tmp_path / "2", None, "stbp", "stbp", "s", {("pgd", "white"): 10.0, ("apgd", "white"): 5.0})
    report = write_report(tmp_path)
    (table,) = [t for t in report.tables if t.title.startswith("Adversarial training")]
    standard, pgd = table.rows
    assert standard[1:3] == ["standard", "–"] and standard[4].startswith("5.00 (apgd/stbp)")
    assert pgd[1:3] == ["pgd", "rga"] and pgd[4].startswith("75.00 (pgd/bptr)")
    assert pgd[table.columns.index("craft s")] == "30.0"
    assert pgd[table.columns.index("adv. gradients / epoch")] == "700"
    assert (tmp_path / "robust_vs_cost.png").stat().st_size > 0
    assert "Adversarial training" in (tmp_path / "report.md").read_text()


def test_no_adversarial_section_without_an_adversarially_trained_model(tmp_path: Path) -> None:
    job(tmp_path / "0", None, "stbp", "stbp", "s", {("pgd", "white"): 10.0})
    report = write_report(tmp_path)
    assert not [t for t in report.tables if t.title.startswith("Adversarial training")]
    assert not (tmp_path / "robust_vs_cost.png").exists()


def test_the_ensemble_and_gradient_free_attacks_are_named_by_their_method(tmp_path: Path) -> None:
    job(tmp_path / "0", "pgd", "rga", "ensemble", "a", {("ensemble", "white"): 70.0})
    job(tmp_path / "1", "pgd", "rga", "none", "a", {("square", "white"): 69.0})
    job(tmp_path / "2", "trades", "rga", "ensemble", "b", {("ensemble", "white"): 60.0})
    job(tmp_path / "3", "trades", "rga", "stbp", "b", {("apgd", "white"): 61.0})
    report = write_report(tmp_path)
    (table,) = [t for t in report.tables if t.title.startswith("Adversarial training")]
    assert [row[4] for row in table.rows] == ["69.00 (square)", "60.00 (ensemble)"]


def spec(lam: float, seed: int, kind: str = "stbp") -> dict:
    """A store spec (``models.target.spec``) of an adversarially trained digits model."""
    adversary = {"method": "pgd", "eps": 16, "grad_mode": "rga", "bn_mode": "train"}
    return {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "neuron": {"T": 4, "lambda": lam},
        "train": {"kind": kind, "adversary": adversary},
        "seed": seed,
        "version": 3,
    }


def test_an_adversary_crafting_on_an_ann_is_named_so_not_by_the_unread_grad_mode(
    tmp_path: Path,
) -> None:
    """... and each recipe names its kind of training where it is not STBP: a hybrid PGD model
    alone was labelled as STBP's PGD-AT."""
    for i, kind in enumerate(("ann", "conversion", "hybrid", "stbp")):
        accs = {("pgd", "white"): 50.0 + i}
        job(tmp_path / kind, "pgd", "rga", "stbp", kind, accs, kind, spec(1.0, 0, kind))
    report = write_report(tmp_path)
    (table,) = [t for t in report.tables if t.title.startswith("Adversarial training")]
    assert {tuple(row[0:3]) for row in table.rows} == {
        ("digits digits_net T=4", "pgd (ann)", "ANN"),
        ("digits digits_net T=4", "pgd (conversion)", "ANN"),
        ("digits digits_net T=4", "pgd (hybrid)", "rga"),  # the adversary acts in fine-tuning
        ("digits digits_net T=4", "pgd", "rga"),
    }


def test_models_trained_otherwise_are_rows_of_their_own_and_seeds_are_pooled(
    tmp_path: Path,
) -> None:
    for lam in (0.5, 1.0):
        for seed in (0, 1):
            accs = {("pgd", "white"): 80 * lam + seed}
            key = f"{lam}-{seed}"
            job(tmp_path / key, "pgd", "rga", "stbp", key, accs, spec=spec(lam, seed))
    report = write_report(tmp_path)
    (table,) = [t for t in report.tables if t.title.startswith("Adversarial training")]
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {"digits digits_net T=4, λ=0.5", "digits digits_net T=4, λ=1"}
    seeds = table.columns.index("seeds")
    assert [row[seeds] for row in rows.values()] == ["2", "2"]
    assert rows["digits digits_net T=4, λ=0.5"][4].startswith("40.50 ± 0.71")


def test_the_recipe_is_the_one_the_target_was_trained_with_not_the_configs(
    tmp_path: Path,
) -> None:
    """``checkpoint=`` of an adversarially trained store file under a standard config: the
    file's store spec says how it was trained."""
    job(tmp_path / "0", None, "stbp", "stbp", "a", {("pgd", "white"): 60.0}, spec=spec(1.0, 0))
    job(tmp_path / "1", None, "stbp", "stbp", "s", {("pgd", "white"): 10.0})
    report = write_report(tmp_path)
    (table,) = [t for t in report.tables if t.title.startswith("Adversarial training")]
    assert [row[1:3] for row in table.rows] == [["standard", "–"], ["pgd", "rga"]]


def test_a_t_sweep_of_one_converted_model_has_a_row_per_t(tmp_path: Path) -> None:
    """One stored ANN (its key holds no T) attacked at T = 4 and 16 was one row, labelled by
    the first job's T and holding the other T's worst case."""
    spec = {"train": {"kind": "conversion", "adversary": {"method": "pgd", "eps": 16}}}
    for steps, acc in ((4, 60.0), (16, 10.0)):
        folder = tmp_path / f"T{steps}"
        job(folder, "pgd", "rga", "stbp", "ann", {("pgd", "white"): acc}, "conversion", spec)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["T"] = steps
        (folder / "metrics.json").write_text(json.dumps(record))
    (table,) = [t for t in write_report(tmp_path).tables if t.title.startswith("Adversarial")]
    robust = table.columns.index("robust WB ε=16")
    assert sorted((row[0], row[robust].split()[0]) for row in table.rows) == [
        ("digits digits_net T=16", "10.00"),
        ("digits digits_net T=4", "60.00"),
    ]


def _adversarial_rows(folder: Path, settings: list[dict], accs: list[float]) -> list[list[str]]:
    """The adversarial table's rows of one stored converted model (key ``c``) attacked at
    each of ``settings`` (config keys), of white-box accuracy ``accs``."""
    for i, (setting, acc) in enumerate(zip(settings, accs, strict=True)):
        job(folder / str(i), "pgd", "rga", "stbp", "c", {("pgd", "white"): acc}, "conversion",
            spec(1.0, 0, "conversion"))  # fmt: skip
        path = folder / str(i) / "metrics.json"
        record = json.loads(path.read_text())
        record["config"] |= setting
        path.write_text(json.dumps(record))
    report = write_report(folder)
    (table,) = [t for t in report.tables if t.title.startswith("Adversarial training")]
    return table.rows


def test_the_adversarial_table_keeps_each_simulated_setting_a_row_in_order_of_value(
    tmp_path: Path,
) -> None:
    """One converted model at reset hard and soft was one row, "seeds 2", its two robust
    accuracies averaged (the setting said dataset, model and T alone); a T sweep's rows ran
    T=16, 4, 8 (sorted as text)."""
    resets = _adversarial_rows(tmp_path / "r", [{"reset": r} for r in ("hard", "soft")], [40, 60])
    assert [(r[0], r[4]) for r in resets] == [
        ("digits digits_net T=4 reset=hard", "40.00 (pgd/stbp)"),
        ("digits digits_net T=4 reset=soft", "60.00 (pgd/stbp)"),
    ]
    steps = _adversarial_rows(tmp_path / "t", [{"T": T} for T in (16, 4, 8)], [40, 50, 60])
    assert [r[0] for r in steps] == [f"digits digits_net T={T}" for T in (4, 8, 16)]
