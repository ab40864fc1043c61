"""Adversarial training (``train.adversary``): crafted examples, losses, the RAT retraction,
store keys, the recorded cost, the RGA adversary, resume after a kill."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from harness import compose, job_checks, resolved
from torch import nn

import snnattack.gradients as gradients
from snnattack import job
from snnattack.analysis.cost import calibrate_batchnorm
from snnattack.config.validation import notes, validate
from snnattack.errors import ConfigError
from snnattack.models import build
from snnattack.records.store import ModelStore
from snnattack.training import STRATEGIES, fit
from snnattack.training.adversaries.recipe import ADVERSARIES, Adversary, parseval_retraction
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key
from snnattack.training.trained import trained_model

FAST = ["trainer.limit_train_batches=4", "trainer.enable_progress_bar=false"]


def tiny_snn() -> nn.Module:
    """An untrained digits net whose BN statistics are set so that it spikes."""
    model = build("digits_net", num_classes=10, in_channels=1, T=2, lam=1.0)
    calibrate_batchnorm(model, torch.rand(64, 1, 8, 8))
    return model.eval()


def batch(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(n, 1, 8, 8), torch.randint(0, 10, (n,))


@pytest.mark.parametrize("method", ADVERSARIES)
def test_crafted_examples_lie_in_the_eps_ball_differ_from_clean_and_keep_the_mode(method) -> None:
    model, (x, y) = tiny_snn().train(), batch()
    adversary = Adversary(method=method, eps=16 / 255, steps=3)
    adv = adversary.craft(model, x, y)
    assert model.training  # the training flag is restored after crafting in eval mode
    assert (adv - x).abs().max() <= 16 / 255 + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    assert not torch.equal(adv, x)


def test_pgd_examples_raise_the_loss_of_the_model_they_are_crafted_on() -> None:
    model, (x, y) = tiny_snn(), batch(32)
    adv = Adversary(method="pgd", eps=32 / 255, steps=5).craft(model, x, y)
    with torch.no_grad():
        assert F.cross_entropy(model(adv), y) > F.cross_entropy(model(x), y) + 0.05


def test_fgsm_takes_one_step_of_eps_and_the_ramp_scales_eps_and_alpha() -> None:
    fgsm = Adversary(method="fgsm", eps=8 / 255)
    assert fgsm.n_steps == 1 and fgsm.step_size(fgsm.eps) == fgsm.eps
    assert Adversary(method="fgsm_rs", eps=0.1).step_size(0.1) == pytest.approx(0.125)
    pgd = Adversary(method="pgd", eps=0.1, steps=5, alpha=0.02, ramp_epochs=4)
    assert [pgd.radius(e) for e in (0, 1, 3, 9)] == pytest.approx([0.025, 0.05, 0.1, 0.1])
    assert pgd.step_size(pgd.radius(0)) == pytest.approx(0.005)
    assert Adversary(method="pgd", eps=0.1, steps=5).step_size(0.1) == pytest.approx(0.05)


def test_trades_loss_is_clean_ce_plus_beta_times_kl_of_clean_to_adversarial() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    (x, y), adv = batch(), torch.rand(8, 1, 8, 8)
    loss, logged = Adversary(method="trades", eps=0.1, beta=3.0).loss(model, x, adv, y)
    p, q = F.softmax(model(x), 1), F.softmax(model(adv), 1)
    kl = (p * (p.log() - q.log())).sum(1).mean()
    assert loss.item() == pytest.approx((F.cross_entropy(model(x), y) + 3.0 * kl).item(), 1e-5)
    assert torch.equal(logged, model(x))
    pgd_loss, _ = Adversary(method="pgd", eps=0.1).loss(model, x, adv, y)
    assert pgd_loss.item() == pytest.approx(F.cross_entropy(model(adv), y).item())


def test_rat_retraction_is_the_parseval_step_and_keeps_orthogonal_weights() -> None:
    torch.manual_seed(2)
    conv, linear = nn.Conv2d(2, 3, 3), nn.Linear(4, 4)
    w = conv.weight.detach().reshape(3, -1).clone()
    q, _ = torch.linalg.qr(torch.randn(4, 4))
    linear.weight.data.copy_(q)
    parseval_retraction(nn.Sequential(conv, linear), beta=0.004)
    expected = 1.004 * w - 0.004 * w @ w.t() @ w
    assert torch.allclose(conv.weight.reshape(3, -1), expected, atol=1e-6)
    assert torch.allclose(linear.weight, q, atol=1e-5)  # W Wᵀ = I: a fixed point


def test_rga_adversary_crafts_with_the_rga_backward(monkeypatch) -> None:
    used = []
    rga = gradients.GRADIENT_MODES["rga"]
    spy = dataclasses.replace(  # with make's signature, which the parameters are checked on
        rga, make=functools.wraps(rga.make)(lambda m, **p: used.append(p) or rga.make(m, **p))
    )
    monkeypatch.setitem(gradients.GRADIENT_MODES, "rga", spy)
    model, (x, y) = tiny_snn(), batch()
    torch.manual_seed(3)
    adv_rga = Adversary(method="fgsm", eps=0.1, grad_mode="rga", params={"beta": 3.0}).craft(
        model, x, y
    )
    adv_stbp = Adversary(method="fgsm", eps=0.1).craft(model, x, y)
    assert used == [{"beta": 3.0}]
    assert not torch.equal(adv_rga, adv_stbp)


def test_store_key_holds_the_adversary_settings_its_method_reads() -> None:
    standard = store_key(model_settings(compose()), 0)
    assert "adversary" not in standard["train"]  # the keys of standard models are unchanged
    assert store_key(model_settings(compose("train.adversary=null")), 0) == standard
    pgd = store_key(model_settings(compose("train.adversary.method=pgd")), 0)
    rga = store_key(
        model_settings(compose("train.adversary.method=pgd", "train.adversary.grad_mode=rga")), 0
    )
    assert len({str(standard), str(pgd), str(rga)}) == 3
    fgsm = compose("train.adversary.method=fgsm")
    unread = compose(
        "train.adversary.method=fgsm", "train.adversary.steps=3", "train.adversary.beta=1"
    )
    assert store_key(model_settings(fgsm), 0) == store_key(
        model_settings(unread), 0
    )  # fgsm reads neither
    # a ramp over one epoch is full eps from the first: the model of no ramp
    ramp = compose("train.adversary.method=fgsm", "train.adversary.ramp_epochs=1")
    assert store_key(model_settings(ramp), 0) == store_key(model_settings(fgsm), 0)
    ann = ["train.kind=ann", "train.adversary.method=pgd"]
    for kind in ("ann", "conversion"):  # trained as an ANN, which has one gradient
        ann = [f"train.kind={kind}", "train.adversary.method=pgd"]
        key = store_key(model_settings(compose(*ann)), 0)
        assert "grad_mode" not in key["train"]["adversary"]
        assert key == store_key(model_settings(compose(*ann, "train.adversary.grad_mode=rga")), 0)
    hybrid = compose("train.kind=hybrid", "train.adversary.method=pgd")
    assert (
        store_key(model_settings(hybrid), 0)["base"]
        == store_key(model_settings(compose("train.kind=hybrid")), 0)["base"]
    )
    assert STRATEGIES["hybrid"].base(model_settings(hybrid)).train["adversary"] is None


@pytest.mark.parametrize("mode", ["stbp", "rga"])
def test_adversarial_training_records_its_cost_split_under_its_own_key(tmp_path, mode) -> None:
    cfg = compose(
        *FAST, "train.epochs=1", "train.adversary.method=pgd", "train.adversary.steps=2",
        f"train.adversary.grad_mode={mode}", f"store.dir={tmp_path}",
    )  # fmt: skip
    model, record = trained_model(model_settings(cfg), 0, ModelStore(tmp_path), [])
    assert record["key"] == ModelStore(tmp_path).path(store_key(model_settings(cfg), 0)).name
    assert record["spec"]["train"]["adversary"]["grad_mode"] == mode
    assert record["train_craft_seconds"] > 0 and record["train_update_seconds"] > 0
    assert record["train_loop_seconds"] <= record["train_seconds"]
    assert record["adversary_gradients_per_epoch"] == 4 * 64 * 2  # batches x batch x steps
    standard = compose(*FAST, "train.epochs=1", f"store.dir={tmp_path}")
    _, plain = trained_model(model_settings(standard), 0, ModelStore(tmp_path), [])
    assert plain["train_craft_seconds"] == 0 and plain["adversary_gradients_per_epoch"] == 0
    assert plain["key"] != record["key"]


def test_a_converted_model_records_the_cost_of_its_adversarially_trained_ann(tmp_path) -> None:
    """train.kind=conversion trains its ANN with the adversary and converts it without
    training: the converted model's record (the report's cost columns) holds the ANN's cost."""
    cfg = compose(
        *FAST, "train.epochs=1", "train.kind=conversion", "train.adversary.method=pgd",
        "train.adversary.steps=2", f"store.dir={tmp_path}",
    )  # fmt: skip
    _, record = trained_model(model_settings(cfg), 0, ModelStore(tmp_path), [])
    ann = json.loads((tmp_path / record["ann_key"] / "record.json").read_text())
    assert record["adversary_gradients_per_epoch"] == 4 * 64 * 2  # batches x batch x steps
    assert record["train_craft_seconds"] > 0 and record["train_update_seconds"] > 0
    cost = ["train_craft_seconds", "train_update_seconds", "train_loop_seconds"]
    assert {k: record[k] for k in cost} == {k: ann[k] for k in cost}


@pytest.mark.parametrize("kind", ["ann", "conversion"])
def test_an_anns_adversary_crafts_in_train_mode_whatever_grad_mode_it_does_not_read(kind) -> None:
    """An ANN crafts with its own gradient (grad_mode unread, out of its store key): null
    resolves to pgd's train mode there, and an explicit bn_mode=train, the same model, was
    refused as if rga crafted."""
    common = [f"train.kind={kind}", "train.adversary.method=pgd", "train.adversary.grad_mode=rga"]
    explicit = compose(*common, "train.adversary.bn_mode=train")
    job_checks(explicit)
    assert store_key(model_settings(explicit), 0) == store_key(model_settings(compose(*common)), 0)


def test_a_black_box_snn_sources_adversary_is_refused_train_bn_with_rga_beside_an_ann() -> None:
    """The source (source_train=stbp) is trained with the target's train.adversary: beside an
    ANN target its adversary crafted with rga on a train-mode BN, refused for an SNN target."""
    train_bn = ["train.adversary.method=pgd", "train.adversary.grad_mode=rga"]
    train_bn.append("train.adversary.bn_mode=train")
    with pytest.raises(ConfigError, match=r"^train.adversary.bn_mode=train does not apply"):
        validate(compose("train.kind=ann", "source_train=stbp", *train_bn))
    validate(compose("train.kind=ann", "source_train=stbp", "boxes=[white]", *train_bn))
    validate(compose("train.kind=ann", "source_train=conversion", *train_bn))


@pytest.mark.parametrize("target", ["checkpoint", "model=external", "model.name=passed"])
def test_an_untrained_targets_adversary_is_checked_as_the_training_it_describes(
    target: str, tmp_path: Path
) -> None:
    """The job trains no target beside checkpoint=, model=external or the API's network, but
    train.adversary still says how the target was trained: a store file is held to its
    record's adversary, the report names any other's recipe by it. So rga crafting in a
    train-mode BN, or a parameter rga does not take, is refused there as for a training:
    accepted, it would label the rows with a training that none runs."""
    if target == "checkpoint":
        torch.save({"weight": torch.zeros(1)}, tmp_path / "model.pt")
        target = f"checkpoint={tmp_path / 'model.pt'}"
    # white-box rows alone: a black-box source beside a file would be trained with the adversary
    rga = [target, "boxes=[white]", "train.adversary.method=pgd", "train.adversary.grad_mode=rga"]
    with pytest.raises(ConfigError) as refused:
        validate(compose(*rga, "train.adversary.bn_mode=train"))
    assert str(refused.value) == (
        "train.adversary.bn_mode=train does not apply to train.adversary.grad_mode=rga (it "
        "needs BatchNorm on running statistics); accepted: eval, or null"
    )
    with pytest.raises(ConfigError) as refused:
        validate(compose(*rga, "+train.adversary.params.width=2"))
    assert str(refused.value) == (
        "train.adversary.params.width=2 is unknown; accepted: beta, gamma"
    )
    validate(compose(*rga, "train.adversary.bn_mode=eval", "+train.adversary.params.gamma=2"))


def test_an_adversary_on_event_counts_is_refused_as_the_attacks_l_inf_box_is() -> None:
    """The crafted examples are clipped to [0, 1]: on integer counts the model was trained, with
    no word, on frames cut to one event per pixel and bin."""
    events = ["dataset=digits_events", "method=[retime]", "train.adversary.method=pgd"]
    with pytest.raises(ConfigError) as refused:
        validate(compose(*events, "dataset.params.event_encoding=counts"))
    assert str(refused.value) == (
        "train.adversary.method=pgd crafts within the [0, 1] box, which does not hold the "
        "integer event counts of dataset.params.event_encoding=counts; accepted: "
        "dataset.params.event_encoding=scaled or binary, or train.adversary.method=null"
    )
    validate(compose(*events, "dataset.params.event_encoding=binary"))
    validate(compose(*events[:2], "dataset.params.event_encoding=counts"))  # standard training


UNREAD = [  # (settings, the keys noted as unread)
    ("+train.adversary.params.beta=2", ["params.beta=2"]),  # rga's, beside the default stbp
    (  # rga's beta fitting no neuron: an ANN has none, a conversion's adversary crafts on its ANN
        "train.adversary.grad_mode=rga +train.adversary.params.beta=0.5 lambda=0.2",
        ["grad_mode=rga", "params.beta=0.5"],
    ),
]


@pytest.mark.parametrize("kind", ["ann", "conversion"])
@pytest.mark.parametrize("settings,noted", UNREAD)
def test_an_anns_adversary_params_are_noted_unread_not_checked_against_its_grad_mode(
    kind, settings, noted
) -> None:
    """An ANN's adversary crafts with its own gradient: params that the default grad_mode
    (stbp) does not take, or that fit no neuron, were refused, and a grad_mode it does not
    read was accepted without a word; now each is noted, and the model is the one trained
    without them."""
    common = [f"train.kind={kind}", "train.adversary.method=pgd"]
    cfg = compose(*common, *settings.split())
    job_checks(cfg)
    assert [n for n in notes(resolved(cfg)) if "grad_mode" in n or "params" in n] == [
        f"train.adversary.{key} is not read by train.kind={kind} (its adversary crafts with "
        "the ANN's own gradient): the model is trained and stored as without it"
        for key in noted
    ]
    plain = compose(*common, *[s for s in settings.split() if s.startswith("lambda")])
    assert store_key(model_settings(cfg), 0) == store_key(model_settings(plain), 0)


def test_an_snns_adversary_params_are_checked_against_its_grad_mode_as_before() -> None:
    """The hybrid's adversary crafts on its SNN in the fine-tuning, with grad_mode, as a
    black-box source trained at T beside an ANN target does: their params are checked; a
    converted source's are not."""
    with pytest.raises(ConfigError, match=r"^train.adversary.params.beta=2 is unknown"):
        validate(compose("train.kind=hybrid", "+train.adversary.params.beta=2"))
    rga = ["train.adversary.grad_mode=rga", "+train.adversary.params.beta=0.5", "lambda=0.2"]
    with pytest.raises(ConfigError, match=r"lambda=0.2 \(the source's\) for train.adversary"):
        validate(compose("train.kind=ann", "source_train=stbp", *rga))
    validate(compose("train.kind=ann", "source_train=stbp", "boxes=[white]", *rga))
    hybrid = compose("train.kind=hybrid", "train.adversary.method=pgd", rga[0])
    assert notes(resolved(hybrid)) == []
    # a converted source's adversary crafts on its ANN: its neurons are not the mode's (was
    # refused at the source's lambda beside an SNN target whose own neurons fit)
    source = ["lambda=0.9", "source_lambda=0.2", "train.adversary.method=pgd", *rga[:2]]
    validate(compose(*source, "source_train=conversion"))
    with pytest.raises(ConfigError, match=r"lambda=0.2 \(the source's\) for train.adversary"):
        validate(compose(*source, "source_train=stbp"))


class Killed(Exception):
    """Stands for a kill after the first epoch's checkpoint."""


@pytest.mark.parametrize("trainer", ["cpu", pytest.param("gpu", marks=pytest.mark.cuda)])
def test_killed_adversarial_training_resumes_to_the_uninterrupted_weights(
    tmp_path, monkeypatch, determinism, trainer: str
) -> None:
    """On the GPU too, identical weights: deterministic kernels (``deterministic``, set here
    as a job's entrance sets it) and every RNG reseeded per epoch."""
    determinism(True)
    overrides = [
        *FAST, "train.epochs=3", "train.adversary.method=pgd", "train.adversary.steps=2",
        "train.adversary.reg=0.004", f"trainer={trainer}",
    ]  # fmt: skip
    whole, whole_record = trained_model(
        model_settings(compose(*overrides)), 0, ModelStore(tmp_path / "a"), []
    )
    start = fit.EpochSeed.on_train_epoch_start

    def kill_at_epoch_two(self, trainer, module) -> None:
        if trainer.current_epoch == 2:
            raise Killed
        start(self, trainer, module)

    store = ModelStore(tmp_path / "b")
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", kill_at_epoch_two)
    with pytest.raises(Killed):
        trained_model(model_settings(compose(*overrides)), 0, store, [])
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", start)
    resumed, record = trained_model(model_settings(compose(*overrides)), 0, store, [])
    assert record["resumed_after_epochs"] == 2 and whole_record["resumed_after_epochs"] is None
    assert record["adversary_gradients_per_epoch"] == whole_record["adversary_gradients_per_epoch"]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.slow
def test_pgd_training_raises_white_box_pgd_accuracy_at_its_eps(tmp_path) -> None:
    """Measured (seeds 0-2, 5 epochs, PGD-3 at 16/255, white-box PGD-7 at 16/255): standard
    66.4-72.0 %, PGD-AT 82.7-83.3 %, at least 10.6 points apart; the test asks for 5."""
    common = [
        "train.epochs=5", "train.adversary.steps=3", "train.adversary.eps=16", "eps=[16]",
        "boxes=[white]", "method=[pgd]", "trainer.enable_progress_bar=false",
        f"store.dir={tmp_path}/models",
    ]  # fmt: skip
    accuracy = {}
    for method in ("null", "pgd"):
        cfg = compose(*common, f"train.adversary.method={method}")
        (tmp_path / method).mkdir()
        accuracy[method] = job.run(cfg, tmp_path / method).results[0].adv_acc
    assert accuracy["pgd"] > accuracy["null"] + 5, accuracy


def poisoned(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose BatchNorms' running statistics are far off."""
    import copy

    other = copy.deepcopy(model)
    for m in other.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.add_(3.0)
            m.running_var.mul_(20.0)
    return other


def buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: b.clone() for k, b in model.named_buffers()}


@pytest.mark.parametrize("method", ["fgsm_rs", "pgd", "trades"])
def test_train_bn_mode_crafts_on_batch_statistics_and_leaves_running_statistics(method) -> None:
    model, (x, y) = tiny_snn().train(), batch(16)
    bad = poisoned(model).train()

    def craft(net: nn.Module, bn_mode: str) -> torch.Tensor:
        adversary = Adversary(method=method, eps=0.1, steps=3, bn_mode=bn_mode)
        return adversary.craft(net, x, y, generator=torch.Generator().manual_seed(0))

    before = buffers(model)
    on_batch = craft(model, "train")
    after = buffers(model)
    assert all(torch.equal(before[k], after[k]) for k in before)  # nothing moved, not even
    assert model.training  # num_batches_tracked, and the training flag is back
    assert torch.equal(on_batch, craft(bad, "train"))  # the running statistics are not read
    assert not torch.equal(craft(model, "eval"), craft(bad, "eval"))  # they are in eval mode
    assert not torch.equal(on_batch, craft(model, "eval"))


def test_bn_mode_defaults_to_each_methods_reference_and_enters_the_store_key() -> None:
    def resolved(*overrides: str) -> str:
        return store_key(model_settings(compose(*overrides)), 0)["train"]["adversary"]["bn_mode"]

    assert resolved("train.adversary.method=fgsm_rs") == "train"  # Wong et al.
    assert resolved("train.adversary.method=pgd") == "train"  # Madry et al.
    assert resolved("train.adversary.method=fgsm") == "eval"  # SNN-RAT
    assert resolved("train.adversary.method=trades") == "eval"  # TRADES
    rga = ("train.adversary.method=pgd", "train.adversary.grad_mode=rga")
    assert resolved(*rga) == "eval"  # a train-mode BN is not time-invariant
    ann = ("train.kind=ann", "train.adversary.method=pgd")
    assert resolved(*ann, "train.adversary.grad_mode=rga") == "train"  # an ANN: no mode
    pgd = store_key(model_settings(compose("train.adversary.method=pgd")), 0)
    for bn_mode, same in (("train", True), ("eval", False)):
        explicit = compose("train.adversary.method=pgd", f"train.adversary.bn_mode={bn_mode}")
        assert (store_key(model_settings(explicit), 0) == pgd) is same


def test_trades_first_iterate_is_the_references_unclipped_gaussian_start() -> None:
    model, (x, y) = tiny_snn().train(), batch()
    x[:, :, :2] = 0.0  # pixels at the box's edge, as the digits have
    x[:, :, -2:] = 1.0
    eps, alpha = 0.1, 0.02
    adversary = Adversary(method="trades", eps=eps, alpha=alpha, steps=1)
    adv = adversary.craft(model, x, y, generator=torch.Generator().manual_seed(5))

    # trades.py: x_adv = x + 0.001 randn; one signed step of KL(f(x) || f(x_adv)), projected
    start = x + 0.001 * torch.empty_like(x).normal_(generator=torch.Generator().manual_seed(5))
    model.eval()

    def first_iterate(start: torch.Tensor) -> torch.Tensor:
        start = start.clone().requires_grad_(True)
        with gradients.gradient_mode(model, "stbp"):
            clean = F.softmax(model(x), dim=1).detach()
            kl = F.kl_div(F.log_softmax(model(start), dim=1), clean, reduction="sum")
            (grad,) = torch.autograd.grad(kl, start)
        step = start.detach() + alpha * grad.sign()
        return torch.min(torch.max(step, x - eps), x + eps).clamp(0, 1)

    assert (start < 0).any() and (start > 1).any()  # the start leaves the box unclipped
    torch.testing.assert_close(adv, first_iterate(start), rtol=0, atol=0)
    assert not torch.equal(adv, first_iterate(start.clamp(0, 1)))  # the clip would matter
