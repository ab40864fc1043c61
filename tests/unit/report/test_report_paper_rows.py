"""The report's paper rows line up with ours setting for setting: time-extended (TE) rows,
shuffle modes, and paper rows without a run of ours listed as "not run"."""

from __future__ import annotations

from harness import ROOT
from omegaconf import OmegaConf

from snnattack.records.results import JobRecord
from snnattack.report.collect import Job
from snnattack.report.tables import table1, table2

SETTING = {
    "dataset": "cifar10",
    "model": "vgg11",
    "T": 8,
    "lambda": 1.0,
    "reset": "hard",
    "encoding": "direct",
}
PAPER2 = [  # RGA Table 2, VGG-11 on CIFAR-10 (FGSM, λ = 1.0, plain and time-extended; λ = 0.5)
    {"lambda": 1.0, "method": "fgsm", "clean": 93.06, "white": {"stbp": 86.28, "rga": 93.74}},
    {
        "lambda": 1.0,
        "method": "fgsm",
        "time_extension": 2,
        "clean": 93.06,
        "white": {"stbp": 86.07, "rga": 94.73},
    },
    {"lambda": 0.5, "method": "fgsm", "clean": 91.48, "white": {"stbp": 91.71, "rga": 93.63}},
]


def row(mode: str, asr: float, te: int | None) -> dict:
    return {
        **SETTING,
        "seed": 0,
        "grad_mode": mode,
        "method": "fgsm",
        "box": "white",
        "eps_255": 8.0,
        "time_extension": te,
        "asr": asr,
        "clean_acc": 92.0,
    }


def project(table, names: list[str]) -> list[list[str]]:
    """The table's rows restricted to the columns ``names``, in that order."""
    where = [table.columns.index(n) for n in names]
    return [[r[i] for i in where] for r in table.rows]


def test_te_rows_get_a_column_and_their_own_paper_row_and_unrun_rows_say_so() -> None:
    rows = [row("stbp", 80.0, 1), row("rga", 90.0, None), row("stbp", 81.0, 2), row("rga", 95.0, 2)]
    table = table2(rows, [], PAPER2)
    names = ["λ", "TE", "method", "clean", "WB ASR STBP", "WB ASR RGA", "seeds"]
    assert project(table, names) == [
        ["1", "1", "fgsm", "92.00", "80.00", "90.00", "1"],
        ["1", "1", "fgsm (paper)", "93.06", "86.28", "93.74", ""],
        ["1", "2", "fgsm", "92.00", "81.00", "95.00", "1"],
        ["1", "2", "fgsm (paper)", "93.06", "86.07", "94.73", ""],
        ["0.5", "1", "fgsm (paper)", "91.48", "91.71", "93.63", "not run"],
    ]
    assert "ε (/255) = 8" in table.settings  # the paper row states no ε: ours stands for it


def test_without_te_runs_the_table_has_no_te_column_and_lists_the_te_row_as_not_run() -> None:
    table = table2([row("stbp", 80.0, 1), row("rga", 90.0, 1)], [], PAPER2)
    assert "TE" not in table.columns
    assert project(table, ["λ", "seeds"]) == [
        ["1", "1"],
        ["1", ""],
        ["1", "not run"],
        ["0.5", "not run"],
    ]


def shuffle_job(name: str, mode: str, clean: float, shuffled: float) -> Job:
    config = {**SETTING, "dataset": {"name": "cifar10"}, "model": {"name": "vgg11"}}
    metrics = {
        "clean_acc": clean,
        "n": 100,
        "results": [],
        "config": config,
        "models": {"target": {"key": "model-a"}},
        "analyses": {
            "shuffle": {"clean_acc": clean, "shuffled_acc": shuffled, "mode": mode, "n": 100}
        },
    }
    return Job(name, JobRecord.from_json(metrics))


def test_table1_shows_both_shuffle_modes_with_the_paper_beside_the_layer_mode() -> None:
    paper = [
        {"lambda": 1.0, "reset": "hard", "T": 8, "clean": 93.06, "shuffled": 92.214},
        {"lambda": 0.5, "reset": "hard", "T": 8, "clean": 91.48, "shuffled": 91.225},
    ]
    jobs = [shuffle_job("0", "layer", 92.0, 91.5), shuffle_job("1", "neuron", 92.0, 80.0)]
    table = table1(jobs, paper)
    col = {c: i for i, c in enumerate(table.columns)}
    got = [
        (
            r[col["λ"]],
            r[col["shuffle"]],
            r[col["shuffled"]],
            r[col["models"]],
            r[col["paper clean"]],
        )
        for r in table.rows
    ]
    assert got == [
        ("1", "layer", "91.50", "1", "93.06"),
        ("1", "neuron", "80.00", "1", "–"),
        ("0.5", "layer", "–", "not run", "91.48"),
    ]


def test_a_paper_row_shows_no_setting_that_it_does_not_state_once_after_the_rows_it_matches():
    """The digits sweeps' paper rows state λ and the method, not ε (theirs is 8/255): theirs
    does not claim our ε, and follows our ε rows once (it was repeated under each)."""
    rows = [
        {**row(m, 80.0, 1), "eps_255": eps} for m in ("stbp", "rga") for eps in (16.0, 32.0, 48.0)
    ]
    table = table2(rows, [], PAPER2[:1])
    assert project(table, ["method", "ε (/255)", "WB ASR STBP"]) == [
        ["fgsm", "16", "80.00"],
        ["fgsm", "32", "80.00"],
        ["fgsm", "48", "80.00"],
        ["fgsm (paper)", "–", "86.28"],
    ]


def test_a_table1_paper_row_not_run_shows_no_setting_that_it_does_not_state() -> None:
    jobs = [shuffle_job(str(t), "layer", 92.0, 91.5) for t in (4, 8)]
    for job, t in zip(jobs, (4, 8), strict=True):
        job.record.config["T"] = t
        job.record.models["target"]["key"] = f"model-{t}"
    table = table1(jobs, [{"lambda": 0.5, "clean": 91.48, "shuffled": 91.225}])
    assert project(table, ["T", "λ", "models"])[-1] == ["–", "0.5", "not run"]


def test_table1_never_pools_models_trained_otherwise_as_seeds_of_one_setting() -> None:
    jobs = [
        shuffle_job(f"{kind}{seed}", "layer", 92.0, 90.0 - seed)
        for kind in ("stbp", "conversion")
        for seed in (0, 1)
    ]
    for job in jobs:
        kind, seed = job.name[:-1], int(job.name[-1])
        job.record.models["target"] |= {
            "key": job.name,
            "spec": {"train": {"kind": kind}, "neuron": {"T": 8}, "seed": seed},
        }
    table = table1(jobs, [])
    assert project(table, ["trained", "models", "shuffled"]) == [
        ["train.kind=stbp", "2", "89.50 ± 0.71"],
        ["train.kind=conversion", "2", "89.50 ± 0.71"],
    ]
    assert "trained" not in table1(jobs[:2], []).columns  # seeds alone: no such column


def test_table1_keeps_model_files_without_a_store_record_apart() -> None:
    """``checkpoint=a.pt,b.pt``: two foreign files (no store spec) were pooled as two seeds
    of one row, "models 2", though Table 2 keeps them apart by their ``checkpoint`` column."""
    jobs = [shuffle_job(name, "layer", 92.0, shuffled) for name, shuffled in (("a", 90), ("b", 40))]
    for job in jobs:
        job.record.config["checkpoint"] = f"{job.name}.pt"
        job.record.models["target"] = {"weights": f"params:{job.name}"}
    table = table1(jobs, [])
    assert project(table, ["trained", "models", "shuffled"]) == [
        ["checkpoint=a.pt", "1", "90.00"],
        ["checkpoint=b.pt", "1", "40.00"],
    ]


def test_table1_of_a_swept_kind_keeps_the_other_swept_training_settings_apart() -> None:
    """``train.kind=stbp,hybrid theta=0.5,1.0``: the kind alone named a row, and each row
    pooled the models of both θ as seeds ("models 2")."""
    jobs = []
    for kind in ("stbp", "hybrid"):
        for theta in (0.5, 1.0):
            job = shuffle_job(f"{kind}{theta}", "layer", 92.0, 80.0 + 10 * theta)
            spec = {"train": {"kind": kind}, "neuron": {"theta": theta}, "seed": 0}
            spec |= {"base": {"train": {"kind": "ann"}}} if kind == "hybrid" else {}
            job.record.models["target"] |= {"key": job.name, "spec": spec}
            jobs.append(job)
    table = table1(jobs, [])
    assert project(table, ["trained", "models", "shuffled"]) == [
        ["train.kind=stbp, neuron.theta=0.5", "1", "85.00"],
        ["train.kind=stbp, neuron.theta=1", "1", "90.00"],
        ["train.kind=hybrid, neuron.theta=0.5", "1", "85.00"],
        ["train.kind=hybrid, neuron.theta=1", "1", "90.00"],
    ]


def test_the_trained_column_keeps_models_apart_that_differ_in_their_base_alone() -> None:
    """Models of one own setting whose base models differ (hybrids fine-tuned from two ANNs)
    were pooled wherever another model's own setting varied: own keys hid the base's."""
    specs = [
        {"train": {"epochs": 5}, "base": {"train": {"epochs": 30}}},
        {"train": {"epochs": 5}, "base": {"train": {"epochs": 60}}},
        {"train": {"epochs": 9}, "base": {"train": {"epochs": 30}}},
    ]
    jobs = [shuffle_job(str(i), "layer", 92.0, 90.0) for i in range(3)]
    for job, spec in zip(jobs, specs, strict=True):
        job.record.models["target"] |= {"key": job.name, "spec": spec}
    assert project(table1(jobs, []), ["trained", "models"]) == [
        ["train.epochs=5, base.train.epochs=30", "1"],
        ["train.epochs=5, base.train.epochs=60", "1"],
        ["train.epochs=9, base.train.epochs=30", "1"],
    ]


def test_the_trained_column_names_the_kind_alone_and_no_setting_that_follows_from_another() -> None:
    """Mixed kinds differ in most of their store specs (the conversion's ``base.*``, ...):
    the kind says it; ``trainer.max_epochs`` varying as ``train.epochs`` is said once."""
    kinds = [shuffle_job(kind, "layer", 92.0, 90.0) for kind in ("conversion", "hybrid")]
    epochs = [shuffle_job(f"e{n}", "layer", 92.0, 90.0) for n in (30, 60)]
    for job, spec in zip(
        kinds + epochs,
        [
            {"train": {"kind": "conversion"}, "base": {"train": {"kind": "ann", "epochs": 30}}},
            {"train": {"kind": "hybrid", "epochs": 5}, "base": {"train": {"kind": "conversion"}}},
            {"train": {"epochs": 30}, "trainer": {"max_epochs": 30}, "base": {"x": 1}},
            {"train": {"epochs": 60}, "trainer": {"max_epochs": 60}, "base": {"x": 2}},
        ],
        strict=True,
    ):
        job.record.models["target"] |= {"key": job.name, "spec": spec}
    assert [row[0] for row in project(table1(kinds, []), ["trained"])] == [
        "train.kind=conversion",
        "train.kind=hybrid",
    ]
    assert [row[0] for row in project(table1(epochs, []), ["trained"])] == [
        "train.epochs=30",
        "train.epochs=60",
    ]


def test_table1_of_records_without_a_shuffled_accuracy_has_no_summary_and_does_not_crash() -> None:
    job = shuffle_job("a", "layer", 92.0, 91.5)
    del job.record.analyses["shuffle"]["shuffled_acc"]  # an edited or partial record
    table = table1([job], [])
    assert table.summary == ""
    assert project(table, ["shuffled", "Δ"]) == [["–", "–"]]


def test_the_eps_sweeps_paper_rows_follow_only_our_rows_at_the_papers_eps() -> None:
    """digits_eps sweeps ε; the paper reports ε = 8/255 alone: its row stands beside our
    ε = 8 row, not beside every ε as if the paper had measured each."""
    paper = OmegaConf.to_container(OmegaConf.load(ROOT / "experiments/digits_eps.yaml").paper)
    rows = [
        {**row(mode, 80.0, None), "eps_255": e} for e in (8.0, 16.0) for mode in ("stbp", "rga")
    ]
    table = table2(rows, [], paper["table2"])
    assert project(table, ["ε (/255)", "method", "seeds"]) == [
        ["8", "fgsm", "1"],
        ["8", "fgsm (paper)", ""],
        ["16", "fgsm", "1"],
        ["8", "pgd (paper)", "not run"],
    ]


def test_an_unquantised_encoding_reads_analog_not_as_a_value_none_gave() -> None:
    """``encoding_levels=null`` is analog input (ECCV 2020's unquantised rows): a cell and the
    settings line say so, where "–" would read as a number missing."""
    rows = [{**row("stbp", 80.0, None), "encoding_levels": lv} for lv in (None, 4)]
    table = table2(rows, ["encoding_levels"], [])
    assert project(table, ["encoding_levels", "seeds"]) == [["analog", "1"], ["4", "1"]]
    assert "encoding_levels = analog" in table2(rows[:1], ["encoding_levels"], []).settings


def test_the_settings_line_states_the_kind_of_training_every_target_shares() -> None:
    """digits_eccv_leak fine-tunes hybrid SNNs alone: its Table 2 said nothing of it."""
    rows = [{**row(m, 80.0, None), "target_kind": "hybrid"} for m in ("stbp", "rga")]
    assert "trained = hybrid" in table2(rows, [], []).settings
    mixed = [rows[0], {**rows[1], "target_kind": "ann"}]  # a swept train.kind: its column
    assert "trained" not in table2(mixed, ["train.kind"], []).settings


def test_table1_keeps_each_shuffle_of_a_model_and_counts_a_repeated_one_once() -> None:
    """Jobs of one model shuffled with other seeds or test batches are measurements of it (the
    last one was kept alone); jobs differing only in their attack repeat one measurement."""
    jobs = [
        shuffle_job("0", "layer", 92.0, 90.0),
        shuffle_job("1", "layer", 92.0, 90.0),  # an attack-only difference: the same shuffle
        shuffle_job("2", "layer", 92.0, 86.0),  # another shuffle seed
        shuffle_job("3", "layer", 80.0, 70.0),  # fewer test batches
    ]
    jobs[2].record.analyses["shuffle"]["seed"] = 1
    jobs[3].record.analyses["shuffle"]["n"] = 40
    table = table1(jobs, [])
    assert project(table, ["clean", "shuffled", "models", "shuffles", "n"]) == [
        ["88.00 ± 6.93", "82.00 ± 10.58", "1", "3", "40–100"]
    ]
    single = table1(jobs[:2], [])
    assert "shuffles" not in single.columns  # one shuffle per model: the column says nothing


def test_table1_keeps_a_row_per_t_of_one_converted_model() -> None:
    """digits_eccv_table1_conversion sweeps T over one stored ANN (its store key holds no T):
    the T=64 shuffle alone was kept and the paper's T=16 row shown "not run"."""
    jobs = [shuffle_job("0", "layer", 92.0, 91.0), shuffle_job("1", "layer", 95.0, 94.0)]
    jobs[0].record.config["T"], jobs[1].record.config["T"] = 16, 64
    paper = [{"lambda": 1.0, "reset": "hard", "T": 16, "clean": 93.25, "shuffled": 93.358}]
    table = table1(jobs, paper)
    assert project(table, ["T", "clean", "models", "paper clean"]) == [
        ["16", "92.00", "1", "93.25"],
        ["64", "95.00", "1", "–"],
    ]


def test_table1_counts_one_file_attacked_at_several_seeds_as_one_model() -> None:
    """A foreign checkpoint (no store key: its weights' hash) under -m seed=0,1,2 repeats one
    shuffle: it was counted as 3 models."""
    jobs = [shuffle_job(str(seed), "layer", 92.0, 80.0) for seed in range(3)]
    for j in jobs:
        j.record.models["target"] = {"weights": "params:0123456789abcdef"}
    assert project(table1(jobs, []), ["models"]) == [["1"]]
