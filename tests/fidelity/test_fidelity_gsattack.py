"""`python -m fidelity.gsattack`: every setting on the same samples, with a stand-in for the
reference's clone, and a folder that is not the clone refused."""

from pathlib import Path

import pytest
from measured import output

from fidelity.gsattack import main

# GSAttack's reference clone, stood in by the same algorithm written against its interfaces
# (attacker.py, attacks/ours/probability_space/..., utils/...): the bench's plumbing is tested
GSATTACK_STAND_IN = {
    "attacker.py": """
import torch
import torch.nn.functional as F


class GumbelAttacker:
    def __init__(self, cfg, probability_attacker, target_label, orginal_value,
                 optimizer_alpha, model, scaler, lr_scheduler):
        self.cfg, self.attacker, self.label = cfg, probability_attacker, target_label
        self.original, self.opt, self.model = orginal_value, optimizer_alpha, model
        self.schedule = lr_scheduler

    def attack_one_step(self, epoch):
        self.opt.zero_grad()
        frame, values = self.attacker()
        logits = self.model(frame).mean(0)
        ce = F.cross_entropy(logits, self.label)
        loss = (ce if self.cfg["targeted"] else -ce) + self.cfg["kappa"] * (
            (self.original.float() - values).abs().mean())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.attacker.alpha, max_norm=20)
        self.opt.step()
        self.schedule.step()
        with torch.no_grad():
            self.attacker.alpha.clamp_(-2.0, 2.0)
        results = {"logits": logits.detach(), "hard_event_values": values.detach(),
                   "attack_frame": frame.detach()}
        return {}, results
""",
    "attacks/__init__.py": "",
    "attacks/ours/__init__.py": "",
    "attacks/ours/probability_space/__init__.py": "",
    "attacks/ours/probability_space/event_generator/__init__.py": "",
    "attacks/ours/probability_space/event_generator/gumbel_torch.py": """
import torch
import torch.nn.functional as F


class GumbelSoftmaxTorch(torch.nn.Module):
    def __init__(self, tau, sample_num, use_soft_event):
        super().__init__()
        self.tau = tau

    def forward(self, alpha):
        soft = F.gumbel_softmax(alpha.unsqueeze(0), tau=self.tau, hard=False)
        chosen = soft.argmax(-1)
        picked = soft.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
        return (chosen - 1).float() + (picked - picked.detach()), None
""",
    "attacks/ours/probability_space/frame_generator.py": """
import torch
import torch.nn.functional as F


class FrameGenerator(torch.nn.Module):
    def __init__(self, split_by, frame_number, frame_size):
        super().__init__()
        self.T, self.size = frame_number, frame_size

    def forward(self, values, indices, use_soft):
        t, x, y = indices[0]
        n = values.shape[1]
        per = n // self.T
        frames = values.new_zeros(self.T * 2 * self.size * self.size)
        keep = torch.arange(n) < per * self.T
        bins = torch.arange(n) // max(per, 1)
        for polarity, part in ((1, F.relu(values[0])), (0, F.relu(-values[0]))):
            cell = ((bins * 2 + polarity) * self.size + y) * self.size + x
            frames = frames.index_add(0, cell[keep], part[keep])
        return frames.view(self.T, 1, 2, self.size, self.size)
""",
    "attacks/ours/probability_space/probability_attack.py": """
import numpy as np
import torch


class ProbabilityAttacker(torch.nn.Module):
    def __init__(self, attack_cfg, alpha_dict, event_generator, frame_processor):
        super().__init__()
        events = alpha_dict["events"]
        value = np.where(events["p"] > 0, 2, 0)
        self.alpha = torch.nn.Parameter(torch.eye(3)[torch.as_tensor(value)])
        indices = np.stack([events["t"], events["x"], events["y"]])
        self.event_indices = torch.as_tensor(indices).unsqueeze(0)
        self.event_generator, self.frame_processor = event_generator, frame_processor

    def forward(self):
        values, _ = self.event_generator(self.alpha)
        return self.frame_processor(values, self.event_indices, use_soft=False), values
""",
    "utils/general_utils.py": """
def get_true_values(alpha, use_soft_event):
    hard = alpha.argmax(-1) - 1
    return hard, hard.unsqueeze(0)
""",
    "utils/optimizer.py": """
import math

import torch


def get_optimizer(params, name, lr, weight_decay):
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def get_lr_scheduler(optimizer, name, T_max):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=T_max)


class CosineAnnealing:
    def __init__(self, optimizer, initial_value, final_value, decay_step):
        self.optimizer, self.low, self.high, self.decay = (
            optimizer, initial_value, final_value, decay_step)

    def step(self, iters):
        cos = 1 + math.cos(math.pi * iters / self.decay)
        value = self.low if iters >= self.decay else self.low + 0.5 * (self.high - self.low) * cos
        self.optimizer.tau = value
""",
}


@pytest.mark.slow
def test_the_gsattack_reference_bench_compares_every_setting_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for name, text in GSATTACK_STAND_IN.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    record, table = output(main, ["--reference", str(tmp_path), "--samples", "3"], capsys)
    assert record["samples"] == 3 and list(record["settings"]) == ["events", "target", "carried"]
    for name in ("events", "target"):  # "carried": the reference's tau carried over
        m = record["settings"][name]
        assert m["identical"] == 3 and m["reference"]["fooled"] == m["one_at_a_time"]["fooled"]
    events = record["settings"]["events"]
    assert events["reference"]["fooled"] > 0 and events["batched_stream"]["seconds"] > 0
    assert "gsattack beside the reference on 3 event digits" in table


def test_a_folder_that_is_not_the_gsattack_clone_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--reference", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "holds no attacker.py; accepted: a clone of" in err
    assert len(err.strip().splitlines()) == 1
