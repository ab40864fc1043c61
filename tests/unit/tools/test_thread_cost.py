"""`python -m tools.thread_cost`: a forward and an STBP step per thread count, each
over the first count's, and a count below one or above any machine's cores refused."""

import pytest
from measured import TINY, output

from tools.thread_cost import main


def test_bench_times_a_step_on_each_thread_count(capsys: pytest.CaptureFixture) -> None:
    record, table = output(main, [*TINY, "--threads", "1", "2"], capsys)
    steps = record["thread_steps"]
    assert set(steps) == {"1", "2"} and all(set(s) == {"forward", "stbp"} for s in steps.values())
    for name in ("forward", "stbp"):
        first, second = steps["1"][name], steps["2"][name]
        assert first["vs_first"] == 1.0 and second["seconds"] > 0
        assert second["vs_first"] == second["seconds"] / first["seconds"]
    assert "× first count" in table


@pytest.mark.parametrize("count", ["0", "100000"])
def test_a_thread_count_out_of_range_is_refused_in_one_line(
    capsys: pytest.CaptureFixture, count: str
) -> None:
    """Below one, or above any machine's cores (100000 threads hung torch's first operation)."""
    with pytest.raises(SystemExit) as exit_:
        main([*TINY, "--threads", "1", count])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"--threads={count} is out of range" in err
    assert len(err.strip().splitlines()) == 1


def test_the_record_names_the_device_it_measured_on(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record said ``"device": "cpu"`` whatever ``--device`` measured on; now the name
    of the device its batch is on, as ``python -m snnattack.tools.step_cost`` records it."""
    from tools import thread_cost

    monkeypatch.setattr(thread_cost, "device_name", lambda device: f"named {device}")
    record, _ = output(main, [*TINY, "--threads", "1"], capsys)
    assert record["device"] == "named cpu"


@pytest.mark.cuda
def test_a_gpu_measurement_names_the_gpu(capsys: pytest.CaptureFixture) -> None:
    import torch

    record, _ = output(main, [*TINY, "--threads", "1", "--device", "cuda"], capsys)
    assert record["device"] == torch.cuda.get_device_name(0)
