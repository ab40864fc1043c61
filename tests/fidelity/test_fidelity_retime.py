"""`python -m fidelity.retime`: every setting on the same samples, with a stand-in for the
reference's file, and a sample count below one refused."""

from pathlib import Path

import pytest
from measured import output

from fidelity.retime import main

# A stand-in for the Spike-Retiming reference's utils/attack.py (yuyi-sd/Spike-Retiming-Attacks
# has no licence, so the bench imports a user's clone): its four classes' call signatures, a
# print per call as the reference prints its losses, this project's retime underneath.
RETIME_STAND_IN = """
from snnattack.attacks.methods.retime import Retime


class _StandIn:
    def __init__(self, device, model, steps, **kw):
        self.model, self.steps, self.kw = model.net, steps, kw

    def __call__(self, frames, labels):
        print("loss")
        attack = Retime(self.model, steps=self.steps, **self.ours(**self.kw))
        return attack(frames.transpose(0, 1), labels).transpose(0, 1)


class PGDTimeShiftAfterEncoder_Lowgpu(_StandIn):
    def ours(self, D):
        return {"norm": "linf", "budget": D}


class PGDTimeShiftAfterEncoder(_StandIn):
    def ours(self, D, lambda_cap):
        return {"norm": "linf", "budget": D, "lam_cap": lambda_cap, "phi_init": 0.0}


class PGDTimeShiftAfterEncoder_L1(_StandIn):
    def ours(self, l1_steps_budget):
        return {"norm": "l1", "budget": l1_steps_budget, "budget_weight": 10.0, "phi_init": 0.0}


class PGDTimeShiftAfterEncoder_L0(_StandIn):
    def ours(self, l0_moves_budget):
        return {"norm": "l0", "budget": l0_moves_budget, "budget_weight": 5.0, "phi_init": 0.0}
"""


@pytest.mark.slow
def test_the_retime_reference_bench_compares_every_setting_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "attack.py").write_text(RETIME_STAND_IN)
    argv = ["--reference", str(tmp_path), "--samples", "4"]
    record, table = output(main, argv, capsys)  # the stand-in's prints kept off the JSON
    assert record["samples"] == 4 and record["seed"] == 0
    settings = record["settings"]
    assert list(settings) == ["B∞ D=1", "B∞ D=2", "B1 6", "B0 3", "B∞ D=1 dense"]
    for m in settings.values():
        assert m["identical"] == 4 and m["reference"]["fooled"] == m["batched"]["fooled"]
        assert m["reference"]["seconds"] > 0 and m["batched"]["seconds"] > 0
    assert settings["B∞ D=1"]["batched"]["fooled"] > 0
    assert "retime beside the reference on 4 event digits" in table


def test_samples_below_one_are_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--reference", "x", "--samples", "0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--samples" in err
    assert len(err.strip().splitlines()) == 1
