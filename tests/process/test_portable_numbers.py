"""A measured experiment gives, bit for bit, the numbers its file states on any x86 CPU when
torch, MKL and oneDNN run their portable kernels (docs/running.md, *Reproducibility*): the
kernels are chosen as torch is imported, so the job runs in a child process."""

from pathlib import Path

import pytest
from harness import EXPERIMENTS, run_py, sweep_metrics

# the kernels every x86 CPU runs alike (docs/running.md, Reproducibility)
PORTABLE = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "DNNL_MAX_CPU_ISA": "SSE41"}


@pytest.mark.slow
def test_the_hybrid_snn_gives_the_numbers_its_experiment_file_states(tmp_path: Path) -> None:
    """``experiments/digits_eccv_leak.yaml``'s hybrid SNN at λ = 0.99 (signed Poisson input,
    trained over several epochs: every random draw of its training counts) gives the result its
    header states under portable kernels: a change of how a training or a row draws its random
    numbers moves it, as one once moved it without a word. A CPU's own kernels sum floats in an
    order of their own (four CPUs have given four results), so the test runs the portable
    ones; the record names the kernels that ran."""
    proc = run_py(
        "-m",
        "-cd",
        str(EXPERIMENTS),
        "-cn",
        "digits_eccv_leak",
        "lambda=0.99",
        "method=[fgsm]",
        "eps=[32]",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        "trainer.enable_progress_bar=false",
        cwd=tmp_path,
        env=PORTABLE,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (job,) = sweep_metrics(tmp_path / "sweep")
    asr = {r["box"]: round(r["asr"], 1) for r in job["results"]}
    assert (round(job["clean_acc"], 1), asr["white"], asr["black"]) == (99.3, 66.4, 48.3)
    launch = job["models"]["target"]["launches"][0]
    assert job["cpu_kernels"] == launch["cpu_kernels"] == "DEFAULT"
