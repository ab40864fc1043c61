"""Every bad value a user may set stops the job before any work: one line, exit code 2."""

import logging
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import CONF, EXPERIMENTS, compose, resolved
from omegaconf import DictConfig, OmegaConf

from snnattack.attacks.checks import _eot_on_a_fixed_forward
from snnattack.attacks.convergence import curve_counts
from snnattack.attacks.grids import grid, grid_values
from snnattack.config.combinations import _source_seed_in_range
from snnattack.config.validation import RULES, notes, validate, writable
from snnattack.errors import ConfigError, DataError
from snnattack.process.distributed import cores
from snnattack.runtime import command_line
from snnattack.runtime.cli import (
    check_argument_form,
    check_config_name,
    check_group_choices,
    check_hydra_folders,
    check_not_shadowed,
    check_override_keys,
    check_starts_from_package,
    discard_job_folder,
    one_line,
)
from snnattack.runtime.command_line import multirun, with_file_sweep
from snnattack.runtime.launchers import check_basic_sweep, check_hydra_added
from snnattack.training.parse import model_settings
from snnattack.values import Rule, as_typed

ITER = "(the counts are iterations of a method); accepted: counts <= "
COMPONENT = "method.ensemble.components"
# an ensemble's components (method.ensemble.components=VALUE), the start of the message
ENSEMBLE_BAD = [
    (
        "[{attack:stbp,method:apgd,params:{steps:0}}]",
        f"{COMPONENT}.apgd/stbp.params.steps=0 is out of range; accepted: an integer >= 1",
    ),
    (
        "[{attack:stbp,method:apgd,params:{steps:abc}}]",
        f"{COMPONENT}.apgd/stbp.params.steps='abc' is not an integer; accepted: an integer >= 1",
    ),
    (
        "[{attack:stbp,method:pgd,params:{alpha:300}}]",
        f"{COMPONENT}.pgd/stbp.params.alpha=300 is out of range; accepted: null or 0 < ",
    ),
    (
        "[{attack:stbp,method:sapgd,params:{loss:l2}}]",
        f"{COMPONENT}.sapgd/stbp.params.loss='l2' is unknown; accepted: ce, dlr",
    ),
    (
        "[{attack:stbp,method:pgd,params:{eot_samples:2}}]",
        f"{COMPONENT}.pgd/stbp.params.eot_samples=2 is unknown (set by attack.eot_samples); "
        "accepted: ",
    ),
    (
        "[{method:square,params:{n_querie:5}}]",
        f"{COMPONENT}.square.params.n_querie=5 is unknown (did you mean n_queries?); accepted: ",
    ),
    (
        "5",
        f"{COMPONENT}=5 is not a list; accepted: a non-empty list of {{attack: <attack= name>, ",
    ),
    ("[]", f"{COMPONENT}=[] is empty; accepted: a non-empty list of {{attack: "),
    ("null", f"{COMPONENT}=null sets no value; accepted: a non-empty list of {{attack: "),
    ("[null]", f"{COMPONENT}[0]=null is not a component; accepted: {{attack: <attack= name>, "),
    (
        "[{attack:stbp,method:apgd,params:{steps:true}}]",
        f"{COMPONENT}.apgd/stbp.params.steps=true is not an integer; accepted: an integer >= 1",
    ),
    ("[fgsm]", f"{COMPONENT}[0]='fgsm' is not a component; accepted: {{attack: <attack= name>, "),
    (
        "[{attack:stbp,method:fgsm},{attack:stbp,method:fgsm}]",
        f"{COMPONENT}[1]=fgsm/stbp repeats {COMPONENT}[0]; accepted: each attack and method once",
    ),
    (
        "[{attack:stbp,method:fgsm,params:5}]",
        f"{COMPONENT}[0].params=5 is not a dict; accepted: the parameters of method=fgsm",
    ),
    (
        "[{attack:rga,method:fgsm,attack_params:[1]}]",
        f"{COMPONENT}[0].attack_params=[1] is not a dict; accepted: the parameters of attack=rga",
    ),
    (
        "[{attack:stbp,method:pgd,tune:maybe}]",
        f"{COMPONENT}[0].tune='maybe' is not true or false; accepted: true or false",
    ),
    (
        "[{attack:bptr,method:pgd,tune:true}]",
        f"{COMPONENT}.pgd/bptr.tune=true has nothing to tune: pgd/bptr has no parameter to tune; "
        "accepted: tune: false, or tune: true on an attack with parameters (stbp, ",
    ),
    (
        "[{method:square,tune:true}]",
        f"{COMPONENT}.square.tune=true has nothing to tune: square is gradient-free; accepted: ",
    ),
]
GRID_FORM = "a non-empty list of values, or {start: a, stop: b >= a, step: s > 0} (ends included)"
GAMMA = "attack.tune.grids.hart.gamma"
# attack.tune with attack=hart attack.tune.enabled=true, the start of the message
TUNE_BAD = [
    (
        f"{GAMMA}.stop=0.05",
        f"{GAMMA}={{start: 0.1, stop: 0.05, step: 0.05}} has its stop below its start; "
        f"accepted: {GRID_FORM}",
    ),
    (
        f"{GAMMA}.step=1e-5",
        "attack.tune.grids.hart has 235001 points, more than attack.tune.max_points=200 (each "
        "point is one attack per row); accepted: a grid of at most that many points",
    ),
    (
        "attack.tune.max_points=47",
        "attack.tune.grids.hart has 48 points, more than attack.tune.max_points=47",
    ),
    (  # (stop - start) / step is inf: an OverflowError of math.floor, a traceback
        f"{GAMMA}.stop=1e300 {GAMMA}.step=1e-300",
        f"{GAMMA}={{start: 0.1, stop: 1e+300, step: 1e-300}} has more points than a number "
        "holds (its span over its step is beyond 1.8e+308); accepted: ",
    ),
    (  # the count spelt shortened, not in 300 digits
        f"{GAMMA}.stop=1e300 {GAMMA}.step=1e-5",
        "attack.tune.grids.hart has 9999999999... (305 digits) points, more than ",
    ),
    (f"{GAMMA}.step=abc", f"{GAMMA}={{start: 0.1, stop: 2.45, step: 'abc'}} is not a grid"),
    (f"{GAMMA}.step=null", f"{GAMMA}={{start: 0.1, stop: 2.45, step: null}} is not a grid"),
    (f"{GAMMA}.start=[1]", f"{GAMMA}={{start: [1], stop: 2.45, step: 0.05}} is not a grid"),
    (f"~{GAMMA} +{GAMMA}=[]", f"{GAMMA}=[] is empty; accepted: {GRID_FORM}"),
    (f"~{GAMMA} +{GAMMA}=[0.5,-1]", f"{GAMMA}=-1 is out of range for attack=hart; accepted: a "),
    (f"~{GAMMA} +{GAMMA}=[wide]", f"{GAMMA}='wide' is not a number for attack=hart"),
    (
        "~attack.tune.grids.hart +attack.tune.grids.hart=[0.1]",
        "attack.tune.grids.hart=[0.1] is not a dict; accepted: a dict of its keys (gamma)",
    ),
    (
        "~attack.tune.grids.rga_layerwise +attack.tune.grids.rga_layerwise=[0.1]",
        "attack.tune.grids.rga_layerwise=[0.1] is not a grid; accepted: a dict of each parameter",
    ),
]

# (overrides, the start of the one-line message: key=value and what is wrong)
BAD = [
    ("lambda=1.5", "lambda=1.5 is out of range; accepted: 0 < lambda <= 1"),
    ("lambda=0", "lambda=0 is out of range"),
    ("lambda=nan", "lambda=nan is not a finite number; accepted: 0 < lambda <= 1"),
    ("lambda=true", "lambda=true is not a number; accepted: 0 < lambda <= 1"),  # not True
    ("T=0", "T=0 is out of range; accepted: an integer >= 1"),
    ("T=2.5", "T=2.5 is not an integer"),
    ("T=inf", "T=inf is not an integer"),
    ("theta=-1", "theta=-1 is out of range; accepted: a finite number > 0"),
    # inf is above 0: the rule it breaks is finiteness, which the line says
    ("theta=inf", "theta=inf is not a finite number; accepted: a finite number > 0"),
    ("reset=sideways", "reset='sideways' is unknown; accepted: hard, soft"),
    # the kind's reset, which reset reads: named as typed, not as reset
    ("train.resets.stbp=sideways", "train.resets.stbp='sideways' is unknown; accepted: hard, s"),
    ("train.resets.stbp=null", "train.resets.stbp=null sets no value; accepted: hard, soft"),
    ("train.kind=[stbp]", "train.kind=['stbp'] is not a name; accepted: stbp, ann, conversion"),
    (
        "train.adversary.method=[pgd]",
        "train.adversary.method=['pgd'] is not a name; accepted: null or fgsm",
    ),
    (
        "encoding=morse",
        "encoding='morse' is unknown; accepted: direct, poisson, poisson_signed, frames",
    ),
    ("eps=[-8]", "eps=[-8] holds -8, which is out of range"),
    ("eps=[300]", "eps=[300] holds 300, which is out of range"),
    ("eps=[nan]", "eps=[nan] holds nan, which is not a finite number"),
    # a bare value (eps=8 is eps=[8]) shown as typed, not as the list of one it is read as
    ("eps=inf", "eps=inf is not a finite number; accepted: a list of distinct numbers"),
    ("eps=null", "eps=null sets no value; accepted: a list of distinct numbers"),
    ("eps=abc", "eps='abc' is not a number; accepted: a list of distinct numbers"),
    ("eps=-8", "eps=-8 is out of range; accepted: a list of distinct numbers"),
    ("eps=[8,null]", "eps=[8, null] holds null, which is not a number; accepted: a list of"),
    ("boxes=[white,true]", "boxes=['white', true] holds true, which is not a name"),
    ("eps=[0]", "eps=[0] makes every eps-bounded attack a no-op"),
    # two radii whose row names (6 digits: eps16) are equal would share a row's key
    ("eps=[16,16.0000001]", "eps=[16, 16.0000001] holds 16 and 16.0000001, which name one row"),
    ("eps=[8,a]", "eps=[8, 'a'] holds 'a', which is not a number; accepted: a list of distinct"),
    ("eps=[]", "eps=[] is empty; accepted: a list of distinct numbers"),
    ("eps=['8']", "eps=['8'] holds '8', which is text, not a number; accepted: a list of"),
    (  # Hydra reads a leading 0 as text: the line said only "text", as of a quoted number
        "T=04",
        "T='04' is text, not a number (a leading 0 makes it text: write 4); accepted: an integer",
    ),
    ("method=[]", "method=[] selects no method; accepted: one or more of apgd, apgd_dlr, "),
    ("attack.steps_curve=5", "attack.steps_curve=5 is not a list; accepted: a list of distinct"),
    ("threads=0", "threads=0 is out of range; accepted: an integer in [1, 4096], or auto"),
    ("threads=many", "threads='many' is unknown; accepted: an integer in [1, 4096], or auto"),
    ("threads=1.5", "threads=1.5 is not an integer or a name; accepted: an integer in [1, 4096]"),
    # 100000 threads: a note, then torch's first operation hung (past SIGTERM) starting them
    ("threads=100000", "threads=100000 is out of range; accepted: an integer in [1, 4096], or"),
    ("dataset.threads=100000", "dataset.threads=100000 is out of range; accepted: an integer in"),
    ("source_T=x", "source_T='x' is not an integer; accepted: null or an integer >= 1"),
    ("boxes=[grey]", "boxes=['grey'] holds 'grey', which is unknown"),
    ("boxes=[]", "boxes=[] is empty"),
    ("seed=xyz", "seed='xyz' is not an integer; accepted: an integer in [0, 4294967295]"),
    ("seed=-1", "seed=-1 is out of range"),
    ("source_seed_offset=0", "source_seed_offset=0 is out of range"),
    ("source_seed_offset=x", "source_seed_offset='x' is not an integer; accepted: an integer in"),
    ("attack.steps_curve=[5,5]", "attack.steps_curve=[5, 5] repeats a value; accepted: a list of"),
    ("attack.l0_thresholds=[200,200]", "attack.l0_thresholds=[200, 200] repeats a value"),
    ("eval_batch_size=0", "eval_batch_size=0 is out of range"),
    ("train.batch_size=0", "train.batch_size=0 is out of range"),
    ("train.epochs=0", "train.epochs=0 is out of range"),
    ("train.lr=0", "train.lr=0 is out of range; accepted: a finite number > 0"),
    ("train.lr=inf", "train.lr=inf is not a finite number; accepted: a finite number > 0"),
    ("train.lr=abc", "train.lr='abc' is not a number; accepted: a finite number > 0"),
    ("train.lr=false", "train.lr=false is not a number; accepted: a finite number > 0"),
    (
        "attack=hart attack.params.gamma=wide",
        "attack.params.gamma='wide' is not a number for attack=hart",
    ),
    ("train.momentum=1.5", "train.momentum=1.5 is out of range; accepted: 0 <= train.momentum"),
    ("train.weight_decay=-1", "train.weight_decay=-1 is out of range"),
    ("train.surrogate_width=0", "train.surrogate_width=0 is out of range"),
    (
        "train.nesterov=maybe",
        "train.nesterov='maybe' is not true or false; accepted: true or false",
    ),
    (
        "train.adversary.method=pgdd",
        "train.adversary.method='pgdd' is unknown (did you mean pgd?); accepted: null or",
    ),
    ("train.adversary.eps=0", "train.adversary.eps=0 is out of range; accepted: 0 < train.adv"),
    ("train.adversary.eps=-2", "train.adversary.eps=-2 is out of range"),
    ("train.adversary.steps=0", "train.adversary.steps=0 is out of range; accepted: an integer"),
    ("train.adversary.beta=-1", "train.adversary.beta=-1 is out of range; accepted: a finite "),
    ("train.adversary.alpha=0", "train.adversary.alpha=0 is out of range"),
    (
        "train.adversary.grad_mode=rgb",
        "train.adversary.grad_mode='rgb' is unknown (did you mean rga?); accepted: stbp",
    ),
    ("train.adversary.reg=-0.1", "train.adversary.reg=-0.1 is out of range"),
    ("train.adversary.ramp_epochs=-1", "train.adversary.ramp_epochs=-1 is out of range"),
    ("train.adversary.bn_mode=batch", "train.adversary.bn_mode='batch' is unknown; accepted: null"),
    (
        "train.adversary.method=pgd train.adversary.grad_mode=rga train.adversary.bn_mode=train",
        "train.adversary.bn_mode=train does not apply to train.adversary.grad_mode=rga",
    ),
    (
        "train.adversary.method=pgd train.adversary.grad_mode=rga +train.adversary.params.width=1",
        "train.adversary.params.width=1 is unknown; accepted: beta, gamma",
    ),
    (
        "train.adversary.grad_mode=rga +train.adversary.params.beta=0",
        "train.adversary.params.beta=0 is out of range for train.adversary.grad_mode=rga; "
        "accepted: a finite number > 0",
    ),
    (
        "train.adversary.method=pgd train.adversary.grad_mode=hart +train.adversary.params.gamma=0",
        "train.adversary.params.gamma=0 is out of range for train.adversary.grad_mode=hart",
    ),
    (
        "attack.save_examples=maybe",
        "attack.save_examples='maybe' is not true or false; accepted: true or false",
    ),
    ("attack.fold_bn=1", "attack.fold_bn=1 is not true or false; accepted: true or false"),
    (
        "attack.reuse=sometimes",
        "attack.reuse='sometimes' is not true or false; accepted: true or false",
    ),
    ("compile=yes_please", "compile='yes_please' is not true or false; accepted: true or false"),
    ("method.pgd.steps=0", "method.pgd.steps=0 is out of range"),
    ("method.pgd.alpha=-1", "method.pgd.alpha=-1 is out of range"),
    ("method.pgd.eps_per_alpha=0", "method.pgd.eps_per_alpha=0 is out of range"),
    ("method.pgd.random_start=2", "method.pgd.random_start=2 is not true or false"),
    ("+method.pgd.decay=1", "method.pgd.decay=1 is unknown; accepted: steps, alpha, "),
    ("+method.pgd.bogus=true", "method.pgd.bogus=true is unknown; accepted: steps, alpha, "),
    # a parameter another method takes, at a value its range refuses: unknown to this method
    ("+method.pgd.decay=-1", "method.pgd.decay=-1 is unknown; accepted: steps, alpha, "),
    ("method=[fgsm] +method.fgsm.steps=0", "method.fgsm.steps=0 is unknown; accepted: no param"),
    (
        "attack=rga attack.params.beta=0",
        "attack.params.beta=0 is out of range for attack=rga; accepted: a finite number > 0",
    ),
    (
        "attack=rga_layerwise attack.params.gamma=-0.1",
        "attack.params.gamma=-0.1 is out of range for attack=rga_layerwise; accepted: a finite "
        "number >= 0",
    ),
    (
        "attack=hart attack.params.gamma=0",
        "attack.params.gamma=0 is out of range for attack=hart; accepted: a finite number > 0",
    ),
    (
        "attack=hart attack.params.gamma=inf",
        "attack.params.gamma=inf is not a finite number for attack=hart; accepted: a finite "
        "number > 0",
    ),
    ("attack=hart attack.params.gamma=true", "attack.params.gamma=true is not a number for "),
    (
        "attack.params.width=0",
        "attack.params.width=0 is out of range for attack=stbp; accepted: null or a finite number "
        "> 0",
    ),
    ("+attack.params.beta=2", "attack.params.beta=2 is unknown; accepted: width"),
    (
        "attack.params.surrogate=gauss",
        "attack.params.surrogate='gauss' is unknown for attack=stbp; accepted: null or triangle",
    ),
    (
        "attack=assg attack.params.a=0.7",
        "attack.params.a=0.7 is out of range for attack=assg; accepted: 0 < attack.params.a < 0.5",
    ),
    ("attack=assg attack.params.a=0.5", "attack.params.a=0.5 is out of range for attack=assg"),
    ("attack=assg attack.params.a=0", "attack.params.a=0 is out of range for attack=assg"),
    ("attack=assg attack.params.relax=-1", "attack.params.relax=-1 is out of range for attack="),
    (
        "attack=assg attack.params.beta_1=1",
        "attack.params.beta_1=1 is out of range for attack=assg; accepted: 0 <= attack.params.be",
    ),
    ("attack=assg attack.params.beta_2=-0.1", "attack.params.beta_2=-0.1 is out of range for"),
    (
        "attack=hart attack.tune.enabled=true attack.tune.grids.hart.gamma.start=0",
        "attack.tune.grids.hart.gamma=0.0 is out of range for attack=hart; accepted: a finite ",
    ),
    (
        "method=[ensemble] method.ensemble.components=[{attack:hart,method:pgd,"
        "attack_params:{gamma:-1}}]",
        "method.ensemble.components.pgd/hart.attack_params.gamma=-1 is out of range for "
        "attack=hart; accepted: a finite number > 0",
    ),
    ("attack=pdsg +attack.params.width=1", "attack.params.width=1 is unknown; accepted: pool"),
    (
        "attack=pdsg attack.params.pool=channel",
        "attack.params.pool='channel' is unknown for attack=pdsg; accepted: sample, batch",
    ),
    ("neuron_impl=cuda", "neuron_impl='cuda' is unknown; accepted: fused, unrolled"),
    ("malloc=jemalloc", "malloc='jemalloc' is unknown; accepted: reuse, system"),
    ("backend=cuda", "backend='cuda' is unknown; accepted: c, torch, triton"),
    ("attack.params.alpha=0", "attack.params.alpha=0 is out of range for attack=stbp"),
    ("trainer.max_epochs=-1", "trainer.max_epochs=-1 is out of range; accepted: an integer >= 1"),
    ("trainer.devices=0", "trainer.devices=0 is out of range"),
    ("trainer.limit_test_batches=0", "trainer.limit_test_batches=0 is out of range"),
    ("trainer.limit_train_batches=1.5", "trainer.limit_train_batches=1.5 is out of range"),
    ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps=0 is out of range"),
    *[
        (
            f"trainer.precision={p}",
            f"trainer.precision={p!r} is not supported; accepted: 32-true, 32",
        )
        for p in ("16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "transformer-engine")
    ],
    ("trainer.precision=16", "trainer.precision=16 is not supported; accepted: 32-true, 32"),
    ("trainer.accelerator=abacus", "trainer.accelerator='abacus' is unknown; accepted: auto"),
    (
        "deterministic=sometimes",
        "deterministic='sometimes' is not true or false; accepted: true or",
    ),
    (  # the Trainer follows the top-level key: one key, no second one to disagree with it
        "+trainer.deterministic=true",
        "unknown key 'trainer.deterministic'; did you mean 'deterministic'?",
    ),
    (  # its forward's error said: what the author of a model needs
        "model=vgg11",
        "model=vgg11 does not fit dataset=digits (input 1x8x8: a and b must have same reduction "
        "dim, but got [1, 512] X [8192, 4096]); accepted: digits_net",
    ),
    ("dataset=cifar10_dvs T=10 model=vgg11", "model=vgg11 does not fit dataset=cifar10_dvs"),
    ("dataset=cifar10 model=dvs_vgg", "model=dvs_vgg does not fit dataset=cifar10"),
    (  # was "dataset.params.crop_padding must be >= 0, got -1", from the datamodule
        "dataset=cifar10 model=vgg11 dataset.params.crop_padding=-1",
        "dataset.params.crop_padding=-1 is out of range; accepted: an integer >= 0",
    ),
    ("dataset=cifar100 model=vgg11 dataset.params.cutout_holes=-2", "dataset.params.cutout_hol"),
    (  # no model of models/ takes it: docs/datasets.md's way, a network of the user's own
        "dataset=dvs_gesture model=dvs_vgg dataset.params.size=128",
        "model=dvs_vgg does not fit dataset=dvs_gesture (input 2x128x128: a and b must have same "
        "reduction dim, but got [1, 32768] X [4608, 11]); accepted: model=external with a "
        "network of your own that takes it (docs/interop.md), or dataset.params.size=48 or 56 "
        "(of 8, 16, ..., 128, those that model=dvs_vgg takes): none of models/ takes this input",
    ),
    (  # said "another input size" without naming the one the model was built for
        "dataset=cifar10_dvs T=10 model=dvs_vgg dataset.params.size=16",
        "model=dvs_vgg does not fit dataset=cifar10_dvs (input 2x16x16: a and b must have same "
        "reduction dim, but got [1, 512] X [4608, 10]); accepted: model=external with a "
        "network of your own that takes it (docs/interop.md), or dataset.params.size=48 or 56 "
        "(of 8, 16, ..., 128, those that model=dvs_vgg takes): none of models/ takes this input",
    ),
    (
        "dataset=cifar10_dvs encoding=poisson",
        "encoding='poisson' does not fit dataset=cifar10_dvs; accepted: frames",
    ),
    # a kind that trains an ANN on event frames named encoding and the image encodings,
    # which the event dataset then refused: the line names the kinds the user set
    (
        "dataset=digits_events train.kind=ann",
        "train.kind=ann trains an ANN on analog images (encoding=direct, poisson, "
        "poisson_signed), but dataset=digits_events gives event frames (encoding=frames); "
        "accepted: train.kind=stbp, or a dataset of images (digits, cifar10, cifar100)",
    ),
    (
        "dataset=digits_events source_train=conversion",
        "source_train=conversion trains an ANN on analog images (encoding=direct, poisson, ",
    ),
    (
        "dataset=digits_events train.kind=hybrid source_train=ann",
        "train.kind=hybrid and source_train=ann train ANNs on analog images (encoding=direct, "
        "poisson, poisson_signed), but dataset=digits_events gives event frames "
        "(encoding=frames); accepted: train.kind=stbp and source_train=stbp, or a dataset",
    ),
    (
        "dataset=cifar10_dvs T=10 model=dvs_vgg dataset.params.frames=5",
        "dataset.params.frames=5 does not match T=10",
    ),
    ("T=100000", "T=100000 with train.batch_size=64 needs about "),
    ("train.kind=conversion T=10000000", "T=10000000 with eval_batch_size=32 needs about "),
    # the black-box source's passes at its own T (was torch's "can't allocate" traceback)
    ("source_T=1000000000000", "source_T=1000000000000 with train.batch_size=64 needs about "),
    (
        "source_train=conversion source_T=1000000000000",
        "source_T=1000000000000 with eval_batch_size=32 needs about ",
    ),
    ("dataset.params.num_workers=-1", "dataset.params.num_workers=-1 is out of range"),
    ("dataset.params.test_fraction=1.5", "dataset.params.test_fraction=1.5 is out of range"),
    ("+dataset.params.augment=true", "dataset.params.augment=true is unknown; accepted: test_fr"),
    ("logger=wandb logger.wandb.mode=loud", "logger.wandb.mode='loud' is unknown"),
    (
        "analysis=[shuffle] analysis.shuffle.mode=time",
        "analysis.shuffle.mode='time' is unknown; accepted: layer, neuron",
    ),
    ("tags=[a," + "x" * 65 + "]", "tags=['a', 'xxxxxxxx"),
    (  # a tag that is no text is named, not "out of range"
        "tags=[a,null]",
        "tags=['a', null] holds null, which is not text (a tag is a word); accepted: a list of "
        "words of 1 to 64 characters",
    ),
    (  # gpu is accepted, and said so
        "analysis=[cost] analysis.cost.device=tpu",
        "analysis.cost.device='tpu' is unknown; accepted: auto, cpu, gpu, cuda or cuda:N",
    ),
    (
        "analysis=[cost] analysis.cost.device=cuda:99",
        "analysis.cost.device=cuda:99 but this machine",
    ),
    ("analysis=[cost] analysis.cost.repeats=0", "analysis.cost.repeats=0 is out of range"),
    ("analysis=[shuffle] analysis.shuffle.limit_batches=0", "analysis.shuffle.limit_batches=0 is"),
    (
        "analysis=[rate_current] analysis.rate_current.layer=9",
        "analysis.rate_current.layer=9 is out of range: model=digits_net (train.kind=stbp) has 2 "
        "spiking layers; accepted: an integer in [0, 1]",
    ),
    (  # an ANN was refused with 'accepted: no analysis=[rate_current]', not offered the
        # spiking kinds that shuffle and cost on an ANN offer
        "analysis=[rate_current] train.kind=ann",
        "analysis=[rate_current] reads a spiking layer, but model=digits_net (train.kind=ann) "
        "has 0 spiking layers; accepted: a spiking train.kind (stbp, conversion, hybrid), or "
        "no rate_current in analysis=[...]",
    ),
    (  # a bound that keeps metrics.json readable (5e6 points wrote 250 MB, 1e8 hung)
        "analysis=[rate_current] analysis.rate_current.n_points=5000000",
        "analysis.rate_current.n_points=5000000 is out of range; accepted: an integer in [1, "
        "200000]",
    ),
    (
        "analysis=[rate_current] analysis.rate_current.static_points=100000000",
        "analysis.rate_current.static_points=100000000 is out of range; accepted: an integer in "
        "[2, 100000]",
    ),
    ("checkpoint=/no/such/model.pt", "checkpoint='/no/such/model.pt' is not a file; accepted: "),
    # a path that the command line parses as another type: a number, a switch, a list
    ("checkpoint=123", "checkpoint=123 is not a path; accepted: null or the path of a model "),
    ("source_checkpoint=true", "source_checkpoint=true is not a path; accepted: null or the "),
    ("checkpoint=[a.pt]", "checkpoint=['a.pt'] is not a path; accepted: null or the path of "),
    (
        "attack.steps_curve=[0,5]",
        "attack.steps_curve=[0, 5] holds 0, which is out of range; accepted: a list",
    ),
    ("attack.tune.val_size=0", "attack.tune.val_size=0 is out of range"),
    ("attack.tune.enabled=maybe", "attack.tune.enabled='maybe' is not true or false"),
    ("checks.masking.unbounded_asr=101", "checks.masking.unbounded_asr=101 is out of range"),
    ("checks.masking.probe_size=0", "checks.masking.probe_size=0 is out of range"),
    ("attack.random_eot_samples=0", "attack.random_eot_samples=0 is out of range"),
    ("checks.masking.flip_draws=0", "checks.masking.flip_draws=0 is out of range"),
    ("method=[sapgd] method.sapgd.momentum=2", "method.sapgd.momentum=2 is out of range"),
    ("method=[sapgd] method.sapgd.loss=l2", "method.sapgd.loss='l2' is unknown; accepted: ce"),
    (
        "method=[ensemble] method.ensemble.poisson_eot_samples=0",
        "method.ensemble.poisson_eot_samples=0 is out of range",
    ),
    *[(f"method=[ensemble] method.ensemble.components={c}", m) for c, m in ENSEMBLE_BAD],
    ("attack.steps_curve=[50]", f"attack.steps_curve=[50] goes beyond method.pgd.steps=7 {ITER}7"),
    (
        "method=[apgd] method.apgd.n_restarts=2 attack.steps_curve=[5,50]",
        f"attack.steps_curve=[5, 50] goes beyond method.apgd.steps=10 x n_restarts=2 {ITER}20",
    ),
    (
        "method=[pgd,bim] attack.steps_curve=[8]",
        f"attack.steps_curve=[8] goes beyond method.pgd.steps=7, method.bim.steps=7 {ITER}7",
    ),
    *[(f"attack=hart attack.tune.enabled=true {o}", m) for o, m in TUNE_BAD],
    (  # rga_layerwise reads rga's grid (${.rga}): the key is named as typed
        "attack=rga_layerwise attack.tune.enabled=true attack.tune.grids.rga.beta=[0]",
        "attack.tune.grids.rga.beta=0 is out of range for attack=rga_layerwise",
    ),
    (
        "attack=rga_layerwise attack.tune.enabled=true attack.tune.grids.rga.beta=[]",
        f"attack.tune.grids.rga.beta=[] is empty; accepted: {GRID_FORM}",
    ),
    (  # its own grid, set, is named as its own
        "attack=rga_layerwise attack.tune.enabled=true "
        "attack.tune.grids.rga_layerwise={beta:[2],gamma:[-1]}",
        "attack.tune.grids.rga_layerwise.gamma=-1 is out of range for attack=rga_layerwise",
    ),
    (  # every grid is checked, the job's mode's or not, tuned or not
        "attack=stbp attack.tune.enabled=true attack.tune.grids.rga.beta=[]",
        f"attack.tune.grids.rga.beta=[] is empty; accepted: {GRID_FORM}",
    ),
    (
        f"attack=bptr {GAMMA}.stop=0.05",
        f"{GAMMA}={{start: 0.1, stop: 0.05, step: 0.05}} has its stop below its start",
    ),
    (
        "~attack.tune.grids +attack.tune.grids=[1]",
        "attack.tune.grids=[1] is not a dict; accepted: a dict of its keys (assg, hart, rga, ",
    ),
    ("attack.tune.max_points=0", "attack.tune.max_points=0 is out of range; accepted: an integer"),
    (
        "~attack.params +attack.params=[1]",
        "attack.params=[1] is not a dict; accepted: a dict of the keys of attack=stbp (alpha, ",
    ),
    (
        "~train.adversary.params +train.adversary.params=[1]",
        "train.adversary.params=[1] is not a dict; accepted: {name: value} of the parameters",
    ),
    (
        "attack.time_extension=100000",
        "T=4 x attack.time_extension=100000 with eval_batch_size=32 needs about ",
    ),
    (
        "attack.tune.enabled=true attack.tune.val_size=10000000",
        "T=4 with attack.tune.val_size=10000000 needs about ",
    ),
    (
        "checks.masking.probe_size=10000000",
        "T=4 with checks.masking.probe_size=10000000 needs about ",
    ),
    # a value where conf/ has a dict (Hydra lets it replace the dict)
    (
        "attack.tune=5",
        "attack.tune=5 is not a dict; accepted: a dict of its keys (enabled, grids, max_points, "
        "val_size), e.g. attack.tune.enabled=...",
    ),
    (
        f"attack=hart {GAMMA}=0.5",
        f"{GAMMA}=0.5 is not a dict; accepted: a dict of its keys (start, step, stop)",
    ),
    # the keys of the chosen attack= (dataset=), not those of every choice (a, alpha, beta, ...)
    (
        "attack.params=5",
        "attack.params=5 is not a dict; accepted: a dict of the keys of attack=stbp (alpha, "
        "surrogate, width), e.g. attack.params.alpha=...",
    ),
    (
        "attack=hart attack.params=5",
        "attack.params=5 is not a dict; accepted: a dict of the keys "
        "of attack=hart (gamma), e.g. attack.params.gamma=...",
    ),
    ("attack=bptr attack.params=5", "attack.params=5 is not a dict; accepted: {} (attack=bptr has"),
    (
        "dataset=nmnist model=vgg5 dataset.params=5",
        "dataset.params=5 is not a dict; accepted: a dict of the keys of dataset=nmnist (",
    ),
    # null as typed, not Python's None
    ("train.adversary=null", "train.adversary=null is not a dict; accepted: a dict of its keys"),
    (  # its own keys: every method's once (60 keys)
        "method.pgd=5",
        "method.pgd=5 is not a dict; accepted: a dict of the keys of method/pgd.yaml (name, steps, "
        "alpha, eps_per_alpha, random_start)",
    ),
    ("attack.tune.grids.hart=null", "attack.tune.grids.hart=null is not a dict; accepted: a dic"),
    # event datasets' framing and simulated camera
    (
        "dataset=digits_events dataset.params.split_by=count",
        "dataset.params.split_by='count' is unknown; accepted: time, number",
    ),
    (
        "dataset=cifar10_dvs dataset.params.event_encoding=spikes",
        "dataset.params.event_encoding='spikes' is unknown; accepted: scaled, binary, counts",
    ),
    ("dataset=digits_events dataset.params.threshold=0", "dataset.params.threshold=0 is out of"),
    ("dataset=nmnist dataset.params.val_size=0", "dataset.params.val_size=0 is out of range"),
    ("dataset=digits_events encoding=direct", "encoding='direct' does not fit dataset=digits_e"),
    # event attacks
    (
        "method=[sda]",
        "method.sda=sda attacks event frames, but dataset=digits has none; accepted: an event",
    ),
    (
        "dataset=digits_events method=[sda] dataset.params.event_encoding=counts",
        "method.sda=sda changes binary frames, but dataset.params.event_encoding=counts; "
        "accepted: dataset.params.event_encoding=binary",
    ),
    (
        "dataset=digits_events method=[pgd] dataset.params.event_encoding=counts",
        "method.pgd=pgd perturbs within the [0, 1] box, which does not hold the integer event",
    ),
    ("dataset=digits_events method=[sda] method.sda.n_iter=0", "method.sda.n_iter=0 is out of"),
    (
        "dataset=digits_events method=[sda] method.sda.k_init=2.5",
        "method.sda.k_init=2.5 is not an integer",
    ),
    ("attack.l0_thresholds=[]", "attack.l0_thresholds=[] is empty; accepted: a non-empty"),
    (
        "dataset=digits_events method=[sparsefool] method.sparsefool.max_hamming_distance=0",
        "method.sparsefool.max_hamming_distance=0 is out of range",
    ),
    (
        "dataset=digits_events method=[sparsefool] method.sparsefool.lam=0.5",
        "method.sparsefool.lam",
    ),
    (
        "dataset=digits_events method=[spike_grad] method.spike_grad.trigger_rate=2",
        "method.spike_grad.trigger_rate=2 is out of range",
    ),
    (
        "dataset=digits_events method=[event_patch] method.event_patch.area=0",
        "method.event_patch.area=0 is out",
    ),
    (
        "dataset=digits_events method=[event_patch] method.event_patch.placement=centre",
        "method.event_patch.placement='centre' is unknown; accepted: random, receptive_field",
    ),
    (
        "dataset=digits_events method=[event_patch] method.event_patch.target=10",
        "method.event_patch.target=10 is not a class of dataset=digits_events; accepted: -1",
    ),
    (
        "dataset=digits_events method=[gsattack] method.gsattack.min_tau=0",
        "method.gsattack.min_tau",
    ),
    (
        "dataset=digits_events method=[gsattack] method.gsattack.target=12",
        "method.gsattack.target=12 is not a class of dataset=digits_events; accepted: -1",
    ),
    (
        "dataset=digits_events method=[spike_grad] dataset.params.event_encoding=scaled",
        "method.spike_grad=spike_grad changes binary frames, but dataset.params.event_encoding=",
    ),
    (  # the temperature rose step by step without a word
        "dataset=digits_events method=[gsattack_frames] method.gsattack_frames.min_tau=3",
        "method.gsattack_frames.min_tau=3 is above method.gsattack_frames.max_tau=2.0, but the "
        "temperature is annealed from max_tau down to min_tau; accepted: "
        "method.gsattack_frames.min_tau <= method.gsattack_frames.max_tau",
    ),
    (  # an ensemble's event component ran on image data, ASR 100 % at eps 0
        "method=[ensemble] method.ensemble.components=[{attack:stbp,method:sda}]",
        "method.ensemble.components.sda/stbp=sda attacks event frames, but dataset=digits has "
        "none; accepted: an event dataset",
    ),
    (  # and an L-infinity component on integer event counts
        "dataset=digits_events dataset.params.event_encoding=counts method=[ensemble] "
        "method.ensemble.components=[{attack:stbp,method:pgd}]",
        "method.ensemble.components.pgd/stbp=pgd perturbs within the [0, 1] box",
    ),
    (  # an ensemble's components had none of their methods' checks across keys
        "dataset=digits_events method=[ensemble] T=1 "
        "method.ensemble.components=[{method:retime_l0,attack:stbp}]",
        "method.ensemble.components.retime_l0/stbp=retime moves spikes between time bins, but "
        "T=1 gives one bin; accepted: T >= 2",
    ),
    (
        "dataset=digits_events method=[ensemble] "
        "method.ensemble.components=[{method:retime,attack:stbp,params:{budget:4}}]",
        "method.ensemble.components.retime/stbp.params.budget=4 is out of range for T=4",
    ),
    (
        "dataset=digits_events method=[ensemble] "
        "method.ensemble.components=[{method:event_patch,attack:stbp,params:{area:0.01}}]",
        "method.ensemble.components.event_patch/stbp.params.area=0.01 is 0.64 of a pixel",
    ),
    (
        "dataset=digits_events method=[ensemble] "
        "method.ensemble.components=[{method:gsattack_frames,attack:stbp,params:{min_tau:3}}]",
        "method.ensemble.components.gsattack_frames/stbp.params.min_tau=3 is above",
    ),
    (  # the retraction diverged, and the message blamed train.lr
        "train.adversary.method=fgsm train.adversary.reg=3",
        "train.adversary.reg=3 is out of range; accepted: 0 <= train.adversary.reg < 1",
    ),
    (  # it trained as {} under a store key of its own
        "train.adversary.method=pgd train.adversary.params=null",
        "train.adversary.params=null is not a dict; accepted: {} (the mode's defaults) or a "
        "dict of the parameters of train.adversary.grad_mode=stbp",
    ),
    (  # 1 event and 5 were one input after the quantiser's clamp, without a word
        "dataset=digits_events dataset.params.event_encoding=counts encoding_levels=2",
        "encoding_levels=2 quantises an image's intensities in [0, 1], but "
        "dataset=digits_events gives event frames (encoding=frames), whose counts it would "
        "clamp to 1; accepted: null",
    ),
    (  # torch's "can't allocate memory" traceback (60 GB of shifted digits) once data were read
        "dataset=digits_events dataset.params.sensor=2048",
        "dataset.params.sensor=2048 is out of range; accepted: an integer in [2, 256]",
    ),
    (  # numpy's "Unable to allocate 7.28 TiB" traceback once the job's folders were made
        "dataset=digits_events dataset.params.steps=1000000000000",
        "dataset.params.steps=1000000000000 is out of range; accepted: an integer in [1, 2000]",
    ),
    (  # each step is simulated for every digit: 100000 would take about 40 minutes in silence
        "dataset=digits_events dataset.params.steps=2001",
        "dataset.params.steps=2001 is out of range; accepted: an integer in [1, 2000]",
    ),
    (  # "dataset=digits gives event frames ...; accepted: null", then the line below
        "encoding=frames",
        "encoding='frames' does not fit dataset=digits; accepted: direct, poisson, poisson_signed",
    ),
    (  # not applied, yet it keyed a second model of the same weights and labelled the record
        "dataset=digits_events dataset.mean=[0.5,0.5] dataset.std=[0.1,0.1]",
        "dataset.mean=[0.5, 0.5] normalises analog images inside the model, but "
        "dataset=digits_events gives event frames (encoding=frames), which are not "
        "normalised; accepted: null",
    ),
    (  # a component's target out of the classes ended the attack with an IndexError
        "dataset=digits_events method=[ensemble] "
        "method.ensemble.components=[{method:event_patch,attack:stbp,params:{target:12}}]",
        "method.ensemble.components.event_patch/stbp.params.target=12 is not a class of "
        "dataset=digits_events; accepted: -1",
    ),
    (
        "dataset=digits_events method=[ensemble] "
        "method.ensemble.components=[{method:event_patch,attack:stbp,params:{target:random}}]",
        "method.ensemble.components.event_patch/stbp.params.target='random' draws a target "
        "class per sample, which method=event_patch does not",
    ),
    (
        "dataset=digits_events method=[gsattack] method.gsattack.candidates=all",
        "method.gsattack.candidates='all' is unknown; accepted: events, target, random",
    ),
    (
        "dataset=digits_events method=[gsattack] method.gsattack.bins=time",
        "method.gsattack.bins='time' is unknown; accepted: stream, candidates",
    ),
    (
        "dataset=digits_events method=[gsattack] method.gsattack.insert_ratio=-1",
        "method.gsattack.insert_ratio=-1 is out of range",
    ),
    (
        "dataset=digits_events method=[gsattack] dataset.params.event_encoding=scaled",
        "method.gsattack=gsattack changes binary or counts frames, but dataset.params.event_encod",
    ),
    ("method=[gsattack]", "method.gsattack=gsattack attacks event frames, but dataset=digits"),
    (
        "dataset=digits_events method=[event_patch] method.event_patch.target=random",
        "method.event_patch.target='random' draws a target class per sample, which "
        "method=event_patch does not; accepted: -1 (untargeted) or 0 .. 9 (target=random: "
        "gsattack, gsattack_frames)",
    ),
    (
        "dataset=digits_events method=[gsattack] method.gsattack.target=any",
        "method.gsattack.target='any' is",
    ),
    (  # every method's target shares the rule: random is named with the methods that take it
        "dataset=digits_events method=[event_patch] method.event_patch.target=abc",
        "method.event_patch.target='abc' is unknown; accepted: an integer >= -1, or random "
        "(gsattack, gsattack_frames)",
    ),
    (
        "dataset=digits_events method=[gsattack] +method.gsattack.recordings=1",
        "method.gsattack.recordings=1 is unknown (set by the evaluation: the test batch's "
        "recordings); accepted: candidates, ",
    ),
    # a key of the root config removed: one line, never a KeyError in a later check
    ("~T", "T is missing (an override removed it: ~T); accepted: T with a value (its default: 4)"),
    ("~store.dir", "store.dir is missing (an override removed it: ~store.dir)"),
    ("~store", "store is missing (an override removed it: ~store)"),
    # below float32's smallest: "> 0" held, and the job ran on 0 (theta 0: every step fired)
    (
        "theta=1e-46",
        "theta=1e-46 is out of range (rounds to 0 in float32, as tensors hold it); "
        "accepted: a finite number > 0",
    ),
    ("lambda=1e-46", "lambda=1e-46 is out of range (rounds to 0 in float32, as tensors hold it)"),
    ("train.lr=1e-46", "train.lr=1e-46 is out of range (rounds to 0 in float32"),
    ("train.surrogate_width=1e-46", "train.surrogate_width=1e-46 is out of range (rounds to 0"),
    ("attack.params.width=1e-46", "attack.params.width=1e-46 is out of range (rounds to 0 in"),
    # a radius or a box twice: its rows attacked and reported twice, once
    ("eps=[16,16]", "eps=[16, 16] repeats a value; accepted: a list of distinct numbers"),
    ("boxes=[white,white]", "boxes=['white', 'white'] repeats a value; accepted: a non-empty"),
    # a group removed, or a key that each of its choices sets (a KeyError once, exit 1)
    ("~attack", "attack is missing (an override removed its group: ~attack); accepted: attack=<"),
    ("~dataset", "dataset is missing (an override removed its group: ~dataset)"),
    ("~model", "model is missing (an override removed its group: ~model)"),
    ("~train", "train is missing (an override removed its group: ~train)"),
    ("~trainer", "trainer is missing (an override removed its group: ~trainer)"),
    ("~logger", "logger is missing (an override removed its group: ~logger)"),
    ("~attack.grad_mode", "attack.grad_mode is missing (an override removed it: ~attack.gr"),
    # PyTorch refused it when the optimiser was made, in the training: a traceback, exit 1
    ("train.momentum=0 train.nesterov=true", "train.nesterov=true needs a momentum, but train.m"),
    # a key of a file each choice includes, or below the top (a KeyError, exit 1)
    ("~train.adversary", "train.adversary is missing (an override removed it: ~train.adversary)"),
    ("~train.adversary.grad_mode", "train.adversary.grad_mode is missing (an override removed"),
    ("~train.hybrid train.kind=hybrid", "train.hybrid is missing (an override removed it: ~tra"),
    # a key of the choice a choice includes (trainer=cpu: default), or its only own key: a
    # KeyError in a note's check, or the group named as removed
    ("~trainer.max_epochs", "trainer.max_epochs is missing (an override removed it: ~trainer.m"),
    ("~trainer.accelerator", "trainer.accelerator is missing (an override removed it: ~trai"),
    # W&B's own rules, which wandb.init raised as a traceback (a sweep stopped at its first job)
    ("logger=wandb logger.wandb.project=a/b", "logger.wandb.project='a/b' is out of range"),
    (f"logger=wandb logger.wandb.group={'g' * 129}", "logger.wandb.group='ggg"),
    ("logger=wandb logger.wandb.init_timeout=-5", "logger.wandb.init_timeout=-5 is out of range"),
    # wandb.init's pydantic ValidationError, after the job's folder and the store's lock
    ("logger=wandb logger.wandb.entity=0", "logger.wandb.entity=0 is not a name; accepted: null"),
    # ran as true
    ("trainer.enable_model_summary=5", "trainer.enable_model_summary=5 is not true or false"),
    (  # the example is Hydra's own syntax, not an f-string's escape
        "T=${oc.env:SNNATTACK_TEST_UNSET_VARIABLE}",
        "T cannot be resolved (",
    ),
    (  # the file was loaded into the target's model, its rows labelled with source_lambda
        "source_lambda=0.5 source_checkpoint=/nonexistent/source.pt",
        "source_lambda=0.5 with source_checkpoint=: the file is loaded into the target's model",
    ),
    (  # was refused only in the attacks, after the training
        "lambda=0.5 method=[ensemble] "
        "method.ensemble.components=[{attack:rga,method:fgsm,attack_params:{beta:0.3}}]",
        "method.ensemble.components.fgsm/rga.attack_params.beta=0.3 ends RGA's ramp at or below "
        "its start, the firing onset (1 - lambda) theta of lambda=0.5 for attack=rga; accepted: "
        "beta > 0.5",
    ),
]


def test_rga_parameters_are_checked_on_the_source_only_where_a_row_is_black_box() -> None:
    validate(compose("attack=rga", "source_lambda=0.25", "attack.params.beta=0.7", "boxes=[white]"))
    with pytest.raises(ConfigError, match=r"of lambda=0.25 \(the source's\)"):
        validate(compose("attack=rga", "source_lambda=0.25", "attack.params.beta=0.7"))


def test_rga_parameters_are_checked_on_the_threshold_a_hybrid_model_fires_at() -> None:
    """A hybrid model's thresholds are scaled (train.hybrid.threshold_scale): a gamma that
    fits them was refused for the configured theta (0.875 < 1 at scale 0.7), and one that
    does not was refused only at the first attack, after three models were trained."""
    hybrid = ("train.kind=hybrid", "lambda=0.5", "attack=rga")
    validate(compose(*hybrid, "attack.params.gamma=2.5", "train.hybrid.threshold_scale=0.7"))
    with pytest.raises(ConfigError, match=r"^attack.params.gamma=1.5 gives a rate of 1.5 >= 1"):
        validate(compose(*hybrid, "attack.params.gamma=1.5", "train.hybrid.threshold_scale=2"))
    source = ("source_train=hybrid", "train.hybrid.threshold_scale=2", "attack.params.gamma=1.5")
    with pytest.raises(ConfigError, match=r"theta=2, .*\(the source's\)"):
        validate(compose("lambda=0.9", "source_lambda=0.5", "attack=rga", *source))
    validate(compose("lambda=0.9", "source_lambda=0.5", "attack=rga", *source, "boxes=[white]"))
    # an ANN source has no spiking layer to check; a hybrid target's gamma that fits it stands
    ann = ("source_train=ann", "source_lambda=0.5", "train.hybrid.threshold_scale=0.7")
    validate(compose(*hybrid, *ann, "attack.params.gamma=2.5"))
    # an ANN target has none either: its spiking source is checked at the target's lambda
    with pytest.raises(ConfigError, match=r"theta=1, .*\(the source's\) for attack=rga"):
        validate(compose("train.kind=ann", "source_train=stbp", "lambda=0.5", "attack=rga",
                         "attack.params.gamma=2.5"))  # fmt: skip


@pytest.mark.parametrize("overrides,message", BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_refused_in_one_line_naming_key_and_accepted(
    overrides: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose(*overrides.split()))
    line = str(err.value)
    assert line.startswith(message)
    assert "\n" not in line and "accepted: " in line


def test_a_source_t_is_held_to_memory_only_where_a_row_is_crafted_on_the_source() -> None:
    """No black box or an ANN source: no pass runs at ``source_T``, so no memory is asked."""
    validate(compose("source_T=1000000000000", "boxes=[white]"))
    validate(compose("source_T=1000000000000", "source_train=ann"))


def test_a_value_is_spelt_as_the_command_line_types_it_and_a_python_argument_as_python() -> None:
    """A config key's value as YAML spells it (null, true; in lists and dicts too), a Python
    argument's as Python does (``spell=repr``); a rule's ``problem`` of the value alone (one
    of yours, from before the spelling) still says what is wrong."""
    assert as_typed({"a": [None, True, False, 1.5, "x", float("inf")]}) == (
        "{a: [null, true, false, 1.5, 'x', inf]}"
    )
    rule = Rule(lambda v: False, "anything", lambda v: "is refused")
    assert rule.complaint("k", True) == "k=true is refused; accepted: anything"
    assert rule.complaint("k", True, spell=repr) == "k=True is refused; accepted: anything"


def test_an_unknown_model_name_lists_the_models_a_job_takes_not_the_apis_passed() -> None:
    """``passed`` (the Python API's network) was offered, and a job refuses it."""
    with pytest.raises(ConfigError) as err:
        validate(compose("model.name=digits_nomod"))
    assert str(err.value).startswith("model.name='digits_nomod' is unknown; accepted: vgg11, ")
    assert str(err.value).endswith(", external")


def test_an_unresolvable_interpolation_shows_hydras_syntax() -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose("T=${oc.env:SNNATTACK_TEST_UNSET_VARIABLE}"))
    assert str(err.value).endswith("e.g. ${oc.env:NAME,default}")


def test_an_interpolation_into_a_table_lists_the_keys_the_table_holds() -> None:
    """A sweep file's ``T: ${kinds.T_steps.${train.kind}.${kinds.step}}`` at a mistyped
    ``kinds.step``: the line names the values it could have been (it said only "a value or an
    interpolation that resolves")."""
    cfg = compose("+kinds.step=whole", "+kinds.T_steps={stbp: {full: 4, half: 2}}")
    cfg.T = "${kinds.T_steps.${train.kind}.${kinds.step}}"  # Hydra's overrides nest none
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert str(err.value) == (
        "T cannot be resolved (Interpolation key 'kinds.T_steps.stbp.whole' not found); "
        "accepted: one of the keys of kinds.T_steps.stbp: full, half"
    )


# (the override, the machine it runs on, the start of the line)
MACHINES = [
    ("trainer.accelerator=tpu", {}, "trainer.accelerator=tpu needs torch_xla"),
    ("trainer.accelerator=mps", {}, "trainer.accelerator=mps but this machine has no Apple GPU"),
    ("trainer.num_nodes=2", {}, "trainer.num_nodes=2 but this process was not started on"),
    ("trainer.num_nodes=2", {"NODE_RANK": "0"}, None),  # a manual launch on several machines
    ("trainer.num_nodes=2", {"SLURM_NTASKS": "2", "SLURM_JOB_NAME": "job"}, None),
]


@pytest.mark.parametrize(("override", "env", "start"), MACHINES)
def test_an_accelerator_or_nodes_this_machine_lacks_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, override: str, env: dict[str, str], start: str | None
) -> None:
    """Lightning would raise its own traceback (tpu, mps) or wait forever for the other
    machines, deaf to SIGTERM (num_nodes)."""
    import importlib.util

    import torch

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "torch_xla" else find_spec(n, *a)
    )
    for name in ("NODE_RANK", "SLURM_NTASKS", "SLURM_JOB_NAME", "TORCHELASTIC_RUN_ID", "LSB_JOBID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if start is None:
        validate(compose(override))
        return
    with pytest.raises(ConfigError) as err:
        validate(compose(override))
    assert str(err.value).startswith(start) and "accepted: " in str(err.value)


# (the overrides, this machine's GPUs, the line: None where the job goes on)
GPU_COUNTS = [
    (["trainer.accelerator=gpu"], 0, "trainer.accelerator=gpu but this machine has no GPU; "),
    (["trainer.accelerator=gpu", "trainer.devices=2"], 1, "trainer.devices=2 is more than "),
    # the default trainer (accelerator=auto) takes the GPU: Lightning raised its own two-line
    # MisconfigurationException ("You requested gpu: [0, 1]") when the training began
    (["trainer.devices=2"], 1, "trainer.devices=2 is more than this machine's 1 GPUs (trainer"),
    (["trainer.devices=2"], 0, None),  # two CPU processes
    (["trainer.devices=2"], 2, None),
]


@pytest.mark.parametrize(("overrides", "gpus", "start"), GPU_COUNTS)
def test_more_gpus_than_this_machine_has_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, overrides: list[str], gpus: int, start: str | None
) -> None:
    """The GPUs a job asks for, checked against the machine's (imitated: this one may have
    none) before any work, whatever the accelerator that picks them."""
    from snnattack.config.preflight import _devices_exist

    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    trainer = resolved(compose(*overrides))["trainer"]
    if start is None:
        _devices_exist({"trainer": trainer})
        return
    with pytest.raises(ConfigError) as err:
        _devices_exist({"trainer": trainer})
    assert str(err.value).startswith(start) and "accepted: " in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "capability", "refused"),
    [
        (["compile=true"], (6, 0), True),
        (["compile=true", "trainer=cpu"], (6, 0), False),  # the CPU compiles C++
        (["compile=true"], (7, 0), False),
        (["compile=false"], (6, 0), False),
    ],
)
def test_compile_on_a_gpu_older_than_triton_compiles_for_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    overrides: list[str],
    capability: tuple[int, int],
    refused: bool,
) -> None:
    """``compile=true`` on a Pascal GPU (imitated): the first compiled step failed in torch's
    GPUTooOldForTriton, after the training data were read; now one line before any work."""
    from snnattack.config.preflight import _compiled_for_the_gpus
    from snnattack.cuda import guard

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "Tesla P100-PCIE-16GB")
    monkeypatch.setattr(guard, "GPUS", {})  # read afresh, and the process's after the test
    config = resolved(compose(*overrides))
    if not refused:
        _compiled_for_the_gpus(config)
        return
    with pytest.raises(ConfigError) as err:
        _compiled_for_the_gpus(config)
    assert str(err.value) == (
        "compile=true compiles with Triton, which needs a GPU of compute capability 7.0 or "
        "later, and this machine has Tesla P100-PCIE-16GB (6.0); accepted: compile=false (or "
        "trainer=cpu)"
    )


@pytest.mark.parametrize(
    ("overrides", "gpus", "start"),
    [
        # trainer=ddp (devices=auto) on three GPUs: each process took 21 of a batch of 64, another
        # recipe stored under the key of 64; the check skipped devices=auto
        (
            ["trainer=ddp", "train.batch_size=64"],
            3,
            "train.batch_size=64 does not split over the 3 "
            "processes (trainer.devices=auto: 3 here x trainer.num_nodes=1)",
        ),
        (["trainer=ddp", "train.batch_size=64"], 4, None),
        (["trainer.devices=auto", "train.batch_size=64"], 3, "train.batch_size=64 does not split"),
        (["trainer=cpu", "trainer.devices=auto", "train.batch_size=63"], 3, None),  # one process
    ],
)
def test_a_batch_that_all_of_this_machines_gpus_do_not_split_is_refused(
    monkeypatch: pytest.MonkeyPatch, overrides: list[str], gpus: int, start: str | None
) -> None:
    """``trainer.devices=auto`` takes this machine's GPUs (imitated: it may have none), which
    share ``train.batch_size`` as any count of devices does."""
    from snnattack.config.combinations import _batch_splits

    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    tree = resolved(compose(*overrides))
    if start is None:
        _batch_splits(tree)
        return
    with pytest.raises(ConfigError) as err:
        _batch_splits(tree)
    assert str(err.value).startswith(start) and "accepted: a multiple of" in str(err.value)


@pytest.mark.parametrize("group", ["model", "experiment", "analysis"])
def test_a_null_group_choice_is_refused_in_one_line(group: str) -> None:
    """Hydra would raise its ValueError: a group override must be a string or a list."""
    with pytest.raises(ConfigError, match=f"^{group}=null names no choice; accepted: "):
        check_group_choices([f"{group}=null"], CONF)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["model=vgg12"], "model=vgg12 is unknown (did you mean vgg16?); accepted: digits_net, "),
        (["experiment=typo"], "experiment=typo is unknown; accepted: cifar100_resnet17"),
        # a choice in other case was named with no suggestion (a ratio of letters misses it)
        (["attack=RGA"], "attack=RGA is unknown (did you mean rga?); accepted: ann, "),
        (["method=[FGSM]"], "method=FGSM is unknown (did you mean fgsm?); accepted: apgd, "),
        (
            ["-m", "attack=rga,stbbp"],
            "attack=stbbp is unknown (did you mean stbp?); accepted: ann, ",
        ),
        (
            ["method=[fgsm,pgdd]"],
            "method=pgdd is unknown (did you mean pgd?); accepted: apgd, apgd_dlr, ",
        ),
        (
            ["train=conversion"],
            "train=conversion is unknown (a kind of training, not a recipe: "
            "train.kind=conversion); accepted: digits, paper",
        ),
        (  # Hydra said "To override a value use 'override experiment: ...'", a file's form
            ["+experiment=cifar10_vgg11"],
            "+experiment=cifar10_vgg11 adds a group that the config has already (every config "
            "group is chosen without '+'); accepted: experiment=cifar10_vgg11",
        ),
        (  # the line without '+' was refused next: the one message says how to run the sweep
            ["+experiment=digits_table2"],
            "+experiment=digits_table2 adds a group that the config has already (every config "
            "group is chosen without '+'), and experiment=digits_table2 is unknown "
            "(digits_table2 is a sweep of experiments/: python run.py -m -cd experiments -cn "
            "digits_table2); accepted: cifar100_resnet17, ",
        ),
        (  # it offered experiment=typo
            ["+experiment=typo"],
            "+experiment=typo adds a group that the config has already (every config group is "
            "chosen without '+'), and experiment=typo is unknown; accepted: cifar100_resnet17, ",
        ),
        (
            ["-m", "+experiment=cifar10_vgg11,typo"],
            "+experiment=cifar10_vgg11,typo adds a group that the config has already (every "
            "config group is chosen without '+'), and experiment=typo is unknown; accepted: "
            "cifar100_resnet17, ",
        ),
        (  # a sweep's value has no single element: "Cannot convert sweep to str"
            ["-m", "+experiment=cifar10_vgg11,cifar10_vgg16"],
            "+experiment=cifar10_vgg11,cifar10_vgg16 adds a group that the config has already "
            "(every config group is chosen without '+'); accepted: "
            "experiment=cifar10_vgg11,cifar10_vgg16",
        ),
        (  # as typed, with its package: it was quoted as +model=vgg11
            ["+model@foo=vgg11"],
            "+model@foo=vgg11 adds a group that the config has already (every config group is "
            "chosen without '+'); accepted: model=vgg11",
        ),
        (  # Hydra's "Could not delete 'method'. No match in the defaults list"
            ["~method"],
            "~method removes method, a list of choices (its default: [fgsm, pgd]), which Hydra "
            "cannot remove; accepted: method=[...] of apgd, ",
        ),
        (  # with a value: Hydra's ValueError, a traceback
            ["~analysis=[cost]"],
            "~analysis=[cost] removes analysis, a list of choices (its default: []), which Hydra "
            "cannot remove; accepted: analysis=[] for none, or analysis=[...] of cost, ",
        ),
        (  # Hydra merged the two files and a key of the first was refused under the second
            ["attack=[stbp,rga]"],
            "attack=[stbp,rga] lists 2 choices of attack, which takes one; accepted: one of ann, "
            "assg, bptr, hart, pdsg, rga, rga_layerwise, stbp, or a sweep over them: "
            "-m attack=stbp,rga",
        ),
        (  # Hydra took it once: one row, where boxes=[white,white] and eps=[8,8] are refused
            ["method=[fgsm,fgsm]"],
            "method=[fgsm,fgsm] repeats a choice; accepted: a list of distinct choices of apgd",
        ),
        (["-m", "analysis=[shuffle],[cost,cost]"], "analysis=[cost,cost] repeats a choice"),
        (  # Hydra named the basic sweeper and no key
            ["-m", "lambda=interval(0.5,1.0)"],
            "lambda=interval(0.5,1.0) is a continuous range, which only a sampling sweeper "
            "(Optuna, Nevergrad) draws from; accepted: a list of values (lambda=a,b,c) or "
            "range(start,stop,step)",
        ),
    ],
)
def test_unknown_group_choice_is_refused_with_the_choices(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        check_group_choices(argv, CONF)


def test_known_group_choices_and_sweeps_pass() -> None:
    check_group_choices(
        [
            "-m",
            "attack=rga,stbp",
            "method=[fgsm],[pgd]",
            "experiment=cifar10_vgg11",
            "lambda=0.5,0.9",
            "hydra.run.dir=x",
        ],
        CONF,
    )


def user_folder(tmp_path: Path, *files: str) -> Path:
    """A user's config folder holding ``files`` (``method/pgd2.yaml``, ...)."""
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"# @package method.{Path(name).stem}\nname: pgd\n")
    return tmp_path


@pytest.mark.parametrize("form", ["-cd", "searchpath"])
def test_the_users_own_group_choices_pass_and_namesakes_of_the_packages_are_refused(
    tmp_path: Path, form: str
) -> None:
    """Hydra searches the package's conf/ first: a user's ``method/pgd.yaml`` would be ignored,
    silently; a ``method/pgd2.yaml`` of theirs is a choice like the package's."""
    folder = user_folder(tmp_path, "method/pgd2.yaml")
    where = ["-cd", str(folder)] if form == "-cd" else [f"hydra.searchpath=[file://{folder}]"]
    check_not_shadowed([*where, "method=[pgd2]"], CONF)
    check_group_choices([*where, "method=[pgd2,fgsm]"], CONF)
    with pytest.raises(ConfigError, match="^method=pgd3 is unknown"):
        check_group_choices([*where, "method=[pgd3]"], CONF)
    user_folder(tmp_path, "method/pgd.yaml")
    with pytest.raises(ConfigError) as err:
        check_not_shadowed([*where, "method=[pgd]"], CONF)
    assert str(err.value) == (
        f"{folder / 'method/pgd.yaml'} is never read: Hydra takes the package's "
        "conf/method/pgd.yaml of that name first; accepted: another name for your file (e.g. "
        "method/pgd_mine.yaml), chosen by that name"
    )


def test_only_namesakes_a_run_would_take_are_refused(tmp_path: Path) -> None:
    """A project's ``-cd .`` may hold files of its own that no run chooses: a ``dataset/``
    note, a ``config.yaml`` beside the ``-cn`` file; the package's default ``method`` choices
    (fgsm, pgd) are taken, so a ``method/pgd.yaml`` of the folder would be shadowed."""
    folder = user_folder(tmp_path, "dataset/cifar10.yaml", "config.yaml", "mine.yaml")
    (folder / "mine.yaml").write_text("defaults:\n  - config\n  - _self_\n")
    where = ["-cd", str(folder), "-cn", "mine"]
    check_not_shadowed(where, CONF)
    with pytest.raises(ConfigError, match="config.yaml is never read"):
        check_not_shadowed(["-cd", str(folder)], CONF)  # the primary config: the package's
    with pytest.raises(ConfigError, match="dataset/cifar10.yaml is never read"):
        check_not_shadowed([*where, "dataset=cifar10"], CONF)
    user_folder(tmp_path, "method/pgd.yaml")
    with pytest.raises(ConfigError, match="method/pgd.yaml is never read"):
        check_not_shadowed(where, CONF)  # taken by the package's defaults: method: [fgsm, pgd]


def test_a_search_path_of_the_cn_file_counts_and_a_packages_leaves_choices_to_hydra(
    tmp_path: Path,
) -> None:
    folder = user_folder(tmp_path / "own", "method/pgd2.yaml")
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "mine.yaml").write_text(
        f"defaults:\n  - config\n  - _self_\nhydra:\n  searchpath: [file://{folder}]\n"
    )
    check_group_choices(["-cd", str(exp), "-cn", "mine", "method=[pgd2]"], CONF)
    unlisted = ["hydra.searchpath=[pkg://mypackage.conf]", "method=[pgd_fast]", "mygroup=a"]
    check_group_choices(unlisted, CONF)
    check_override_keys(unlisted, CONF)


def test_a_folder_of_the_config_folder_that_holds_no_config_is_named_as_the_group_it_makes(
    tmp_path: Path,
) -> None:
    (tmp_path / "checkpoint").mkdir()  # the user's model files beside their configs
    with pytest.raises(ConfigError) as err:
        check_group_choices(["-cd", str(tmp_path), "checkpoint=checkpoint/net.pt"], CONF)
    assert str(err.value) == (
        f"checkpoint=checkpoint/net.pt: the config folder's {tmp_path / 'checkpoint'}/ makes "
        "checkpoint a config group (Hydra reads each folder of -cd as one), and it holds no "
        "config; accepted: a -cd folder of configs only"
    )


def test_a_sweep_folder_of_a_key_the_cn_file_sweeps_is_refused(tmp_path: Path) -> None:
    (tmp_path / "lsweep.yaml").write_text(
        "defaults:\n  - config\n  - _self_\nhydra:\n  sweeper:\n    params:\n"
        "      lambda: 0.5,1.0\n"
    )
    argv = ["-m", "-cd", str(tmp_path), "-cn", "lsweep", "hydra.sweep.dir=sw/l${lambda}"]
    with pytest.raises(ConfigError, match="names a folder per value of lambda"):
        check_hydra_folders(argv, CONF)


def test_a_tuning_grid_given_as_a_list_in_place_of_its_range_is_accepted() -> None:
    cfg = compose("attack=hart", "attack.tune.enabled=true", f"~{GAMMA}", f"+{GAMMA}=[0.1,0.5]")
    validate(cfg)
    assert grid(resolved(cfg)["attack"]["tune"], "hart") == [{"gamma": 0.1}, {"gamma": 0.5}]


def test_a_grid_range_holds_its_ends_and_no_point_beyond_its_stop() -> None:
    assert grid_values("k", {"start": 0.0, "stop": 1.0, "step": 0.35}) == [0.0, 0.35, 0.7]
    gammas = grid_values("k", {"start": 0.1, "stop": 2.45, "step": 0.05})
    assert len(gammas) == 48 and gammas[-1] == 2.45


@pytest.mark.parametrize(
    "overrides,note",
    [
        (
            "attack=bptr attack.tune.enabled=true",
            "attack.tune.enabled=true tunes nothing with attack.grad_mode=bptr: it has no "
            "parameter to tune; its rows run as they are",
        ),
        (
            "method=[fgsm,pgd] attack.steps_curve=[5]",
            "attack.steps_curve=[5] gives no curve for method=fgsm: it has no iterations of its "
            "own; its asr_curve is null",
        ),
        (  # its curve held the final ASR at every count: its steps run the still-active
            # samples alone, whose forwards the curve did not follow
            "dataset=digits_events method=[event_patch,retime] attack.steps_curve=[5]",
            "attack.steps_curve=[5] gives no curve for method=event_patch: each of its steps "
            "runs only the samples it has not fooled yet, which the curve cannot follow; its "
            "asr_curve is null",
        ),
        (
            "method=[pgd,sapgd] attack.steps_curve=[5,50]",
            "attack.steps_curve=[5, 50]: the counts above method.pgd.steps=7 are left out of "
            "its curve",
        ),
        (  # its record names the full eps, which no epoch trained at
            "train.adversary.method=fgsm train.adversary.ramp_epochs=3 train.epochs=2",
            "train.adversary.ramp_epochs=3 > train.epochs=2: the training never reaches its full "
            "eps (its last epoch at 67% of it), though the model's record names the full eps",
        ),
        (  # Lightning's epochs replaced the kind's, a hybrid's fine-tuning's too, unsaid
            "train.kind=hybrid train.epochs=3 trainer.max_epochs=2",
            "trainer.max_epochs=2 replaces train.epochs=3 and train.hybrid.epochs=5: every "
            "training runs 2 epochs (the model is stored as of train.epochs=2); set "
            "train.epochs instead, which trainer.max_epochs follows",
        ),
        (  # an L∞ adversary on event frames trained on non-events without a word
            "dataset=digits_events train.adversary.method=pgd",
            "train.adversary.method=pgd on the binary event frames of dataset=digits_events "
            "crafts L∞ perturbations, fractional values no sensor produces: the model is "
            "hardened against those, not against the attacks on events (docs/event_attacks.md)",
        ),
        (  # SNN-RAT's regulariser without an adversary: the standard model, stored as such
            "train.adversary.reg=0.004",
            "train.adversary.reg=0.004 is read by adversarial training only: "
            "train.adversary.method=null trains the standard model, without it",
        ),
        (  # an adversary's radius alone looked like adversarial training; it trained the
            # standard model without a word
            "train.adversary.eps=8",
            "train.adversary.eps=8 is read by adversarial training only: "
            "train.adversary.method=null trains the standard model, without it",
        ),
        (  # so did its gradient mode alone (RGA-AT, as it looks)
            "train.adversary.grad_mode=rga",
            "train.adversary.grad_mode=rga is read by adversarial training only: "
            "train.adversary.method=null trains the standard model, without it",
        ),
        (  # torchattacks' eps=8/255 given as this project's eps=8
            "eps=[0,0.03,8]",
            "eps=0.03 is 0.03/255 = 0.00012 of the pixel range (eps is in 1/255 units, eps=8 is "
            "8/255); 0.03 of the range is eps=7.65",
        ),
        (  # the adversary's radius given as a fraction: adversarial training at 0.03/255
            "train.adversary.method=fgsm train.adversary.eps=0.03",
            "train.adversary.eps=0.03 is 0.03/255 = 0.00012 of the pixel range "
            "(train.adversary.eps is in 1/255 units, train.adversary.eps=8 is 8/255); 0.03 of "
            "the range is train.adversary.eps=7.65",
        ),
        (  # the hybrid's adversary crafts in its fine-tuning, of train.hybrid.epochs (the
            # note compared with train.epochs, the standard ANN's training)
            "train.kind=hybrid train.hybrid.epochs=2 train.adversary.method=fgsm "
            "train.adversary.ramp_epochs=3",
            "train.adversary.ramp_epochs=3 > train.hybrid.epochs=2: the training never reaches "
            "its full eps (its last epoch at 67% of it), though the model's record names the "
            "full eps",
        ),
        (  # FGSM steps eps once: its store key leaves alpha out, and it trained as without
            "train.adversary.method=fgsm train.adversary.alpha=4",
            "train.adversary.alpha=4 is not read by train.adversary.method=fgsm (it reads eps, "
            "grad_mode, params, reg, ramp_epochs, bn_mode): the model is trained and stored as "
            "without it",
        ),
        (  # TRADES without its KL term: the examples are crafted at every step for nothing
            "train.adversary.method=trades train.adversary.beta=0",
            "train.adversary.beta=0 turns TRADES' robust term off: the crafted examples are not "
            "used, and the model is the standard one's loss trained at the adversary's cost",
        ),
        (  # 1000 threads on 2 cores ran a 6 s job in 174 s
            f"threads={cores() + 1}",
            f"threads={cores() + 1} is more than this machine's {cores()} cores: the threads "
            "wait for each other, and the job runs slower than with threads=auto",
        ),
        (  # a native model on direct input: four identical passes per gradient, said nowhere
            "attack.eot_samples=4",
            "attack.eot_samples=4 averages 4 forward passes per gradient, but with "
            "encoding=direct and model=digits_net the forward is not random (the attacks run it "
            "in evaluation mode): the 4 draws are the same and each gradient costs 4 passes for "
            "the one of a single pass; draws differ with a random encoding (poisson, "
            "poisson_signed) or a model=external whose forward is random "
            "(attack.random_eot_samples=4 draws only there)",
        ),
        (  # an ANN source's leak and steps: a sweep over them repeated one ANN's rows
            "source_train=ann source_lambda=0.5 source_T=2",
            "source_lambda=0.5, source_T=2 are not read by the black-box source of "
            "source_train=ann (an ANN has no leak and no time steps): its rows are crafted on the "
            "ANN trained without them",
        ),
        (  # an ANN target's source is an ANN too
            "train.kind=ann source_lambda=0.5",
            "source_lambda=0.5 is not read by the black-box source of train.kind=ann (an ANN "
            "has no leak and no time steps): its rows are crafted on the ANN trained without it",
        ),
        (  # an ANN target's leak and steps, as its source's: a sweep repeated one ANN's rows
            "train.kind=ann lambda=0.5 T=8",
            "lambda=0.5, T=8 are not read by the target of train.kind=ann (an ANN has no leak "
            "and no time steps): it is trained and attacked without them",
        ),
        (  # an ANN target's threshold and reset: its store key leaves them out, as its leak,
            # so a sweep over them repeated one ANN's rows without a word
            "train.kind=ann theta=0.5 reset=soft",
            "theta=0.5, reset=soft are not read by the target of train.kind=ann (an ANN has no "
            "threshold and no reset): it is trained and attacked without them",
        ),
        (
            "train.kind=ann lambda=0.5 theta=1.5",
            "lambda=0.5, theta=1.5 are not read by the target of train.kind=ann (an ANN has no "
            "leak, no threshold and no time steps): it is trained and attacked without them",
        ),
        (  # no model of the job has a surrogate: a sweep over it repeated one ANN's rows
            "train.kind=ann train.surrogate_width=0.5",
            "train.surrogate_width=0.5 is not read by the target and the black-box source of "
            "train.kind=ann (an ANN has no surrogate gradient): every row is crafted on the "
            "ANN trained without it",
        ),
        (
            "train.kind=ann boxes=[white] train.surrogate_width=0.5",
            "train.surrogate_width=0.5 is not read by the target of train.kind=ann (an ANN has "
            "no surrogate gradient): its white-box rows are crafted on the ANN trained "
            "without it",
        ),
        (  # the spiking source of an ANN target reads it as its own: only T is unread
            "train.kind=ann source_train=stbp lambda=0.5 source_T=4 T=8",
            "T=8 is not read by the target of train.kind=ann (an ANN has no leak and no time "
            "steps): it is trained and attacked without it",
        ),
        (  # an ANN source crafted on one pass; its rows stated the extension
            "source_train=ann attack.time_extension=2",
            "attack.time_extension=2 is not read by the black-box source of source_train=ann (an "
            "ANN has no time steps to extend): its rows are crafted on one pass of the ANN",
        ),
        (  # an ANN target: its white-box rows, not the spiking source's
            "train.kind=ann source_train=stbp attack.time_extension=2",
            "attack.time_extension=2 is not read by the target of train.kind=ann (an ANN has no "
            "time steps to extend): its white-box rows are crafted on one pass of the ANN",
        ),
        (
            "train.kind=ann attack.time_extension=3",
            "attack.time_extension=3 is not read by the target and the black-box source of "
            "train.kind=ann (an ANN has no time steps to extend): every row is crafted on one "
            "pass of the ANN",
        ),
        (  # every row crafted on the ANN by autograd (grad ann-autograd): a sweep over the
            # mode repeated its rows without a word
            "train.kind=ann attack=rga",
            "attack=rga is not read by the target and the black-box source of train.kind=ann "
            "(an ANN is differentiated as it is, ann-autograd): every row is crafted with its "
            "own gradient",
        ),
        (  # the spiking source's rows read it: only the target's white-box rows are noted
            "train.kind=ann source_train=stbp attack=hart",
            "attack=hart is not read by the target of train.kind=ann (an ANN is differentiated "
            "as it is, ann-autograd): its white-box rows are crafted with its own gradient",
        ),
        (
            "source_train=ann boxes=[black] attack=ann",
            "attack=ann is not read by the black-box source of source_train=ann (an ANN is "
            "differentiated as it is, ann-autograd): its rows are crafted with its own gradient",
        ),
        (  # an integer given to a real key: the logged note said alpha=2, notes() of the
            # tree validation spelt (as the record's is) alpha=2.0; one spelling now
            "train.kind=ann boxes=[white] attack.params.alpha=2",
            "attack.params.alpha=2.0 is not read by the target of train.kind=ann (an ANN is "
            "differentiated as it is, ann-autograd): its white-box rows are crafted with its "
            "own gradient",
        ),
        (  # the default mode's parameters, as its mode
            "train.kind=ann boxes=[white] attack.params.surrogate=atan",
            "attack.params.surrogate=atan is not read by the target of train.kind=ann (an ANN "
            "is differentiated as it is, ann-autograd): its white-box rows are crafted with "
            "its own gradient",
        ),
        (  # a method beside the ensemble reads the mode: the ANN's note alone, never both
            "train.kind=ann boxes=[white] method=[ensemble,pgd] attack=rga",
            "attack=rga is not read by the target of train.kind=ann (an ANN is differentiated "
            "as it is, ann-autograd): its white-box rows are crafted with its own gradient",
        ),
        (  # no method reads the job's mode: a sweep over attack= repeated its rows without a
            # word; the masking checks probe the spiking target with it, and the note says so
            "method=[ensemble] attack=rga",
            "attack=rga is read by no method of method=[ensemble] (an ensemble's components "
            "name their own gradient modes): its rows are crafted as without it; only the "
            "gradient-masking checks (checks.masking) probe the target with it",
        ),
        (  # the masking checks off: nothing of the job reads it
            "method=[ensemble_quick,square] attack=hart checks.masking.enabled=false",
            "attack=hart is read by no method of method=[ensemble_quick,square] (an ensemble's "
            "components name their own gradient modes; square is gradient-free): its rows are "
            "crafted as without it",
        ),
        (  # the default mode's parameters, as its mode
            "method=[square] attack.params.surrogate=atan attack.params.alpha=3.5",
            "attack.params.surrogate=atan, attack.params.alpha=3.5 are read by no method of "
            "method=[square] (square is gradient-free): its rows are crafted as without them; "
            "only the gradient-masking checks (checks.masking) probe the target with them",
        ),
        (  # on an ANN no method reads it either: this note speaks, not the ANN's; the masking
            # checks probe an ANN target by its autograd, without the mode
            "train.kind=ann method=[ensemble_quick] attack=rga",
            "attack=rga is read by no method of method=[ensemble_quick] (an ensemble's "
            "components name their own gradient modes): its rows are crafted as without it",
        ),
        (
            "train.kind=ann method=[square] attack=rga",
            "attack=rga is read by no method of method=[square] (square is gradient-free): its "
            "rows are crafted as without it",
        ),
        (  # an ANN source's N draws under a Poisson target were N passes of one forward
            "source_train=ann encoding=poisson attack.eot_samples=4",
            "attack.eot_samples=4 is averaged on the black-box source of source_train=ann, which "
            "reads its images as they are (encoding=poisson draws only the spiking models' "
            "inputs): its rows are crafted on 4 identical passes per gradient, at 4 times the "
            "cost of one",
        ),
        (
            "train.kind=ann source_train=stbp encoding=poisson attack.eot_samples=2",
            "attack.eot_samples=2 is averaged on the target of train.kind=ann, which reads its "
            "images as they are (encoding=poisson draws only the spiking models' inputs): its "
            "white-box rows are crafted on 2 identical passes per gradient, at 2 times the cost "
            "of one",
        ),
        (  # the ensemble's Poisson draws under an encoding that draws nothing
            "method=[ensemble_quick] method.ensemble_quick.poisson_eot_samples=16",
            "method.ensemble_quick.poisson_eot_samples=16 is not read with encoding=direct: it "
            "raises the components' draws under a random encoding (poisson, poisson_signed) "
            "only; they average attack.eot_samples=1",
        ),
        (  # a count of passes no job finishes ran with nothing said
            "method=[pgd] method.pgd.steps=1000000000000",
            "method.pgd.steps=1000000000000: 1e+12 gradient passes per batch, over 1.16e+04 "
            "days a batch at 1 ms a pass: the job does not finish in any realistic time",
        ),
        (  # a method of no curve counts its passes all the same
            "dataset=digits_events method=[event_patch] method.event_patch.steps=1000000000000",
            "method.event_patch.steps=1000000000000: 1e+12 gradient passes per batch, over "
            "1.16e+04 days a batch at 1 ms a pass: the job does not finish in any realistic time",
        ),
        (
            "encoding=poisson method=[pgd] attack.eot_samples=1000000000000000",
            "method.pgd.steps=7, attack.eot_samples=1000000000000000: 7e+15 gradient passes per "
            "batch, over 8.1e+07 days a batch at 1 ms a pass: the job does not finish in any "
            "realistic time",
        ),
        (  # a random forward's draws raise every gradient's passes as eot_samples does
            "method=[pgd] attack.random_eot_samples=1000000000000000",
            "method.pgd.steps=7, attack.random_eot_samples=1000000000000000 (where the forward "
            "is random): 7e+15 gradient passes per batch, over 8.1e+07 days a batch at 1 ms a "
            "pass: the job does not finish in any realistic time",
        ),
        (  # a gradient-free attack's queries are forward passes, counted as the gradients are
            "method=[square] method.square.n_queries=100000 method.square.n_restarts=10000",
            "method.square.n_queries=100000 x n_restarts=10000: 1e+09 forward passes per batch, "
            "over 11.6 days a batch at 1 ms a pass: the job does not finish in any realistic time",
        ),
        (  # an ensemble's Square component: its queries were not counted (only method.square's)
            "method=[ensemble] method.ensemble.components=[{attack:stbp,method:apgd},"
            "{method:square,params:{n_queries:10000000000}}]",
            "method.ensemble.components.square.params.n_queries=10000000000: 1e+10 forward "
            "passes per batch, over 116 days a batch at 1 ms a pass: the job does not finish in "
            "any realistic time",
        ),
        (  # a random forward's draws times an ensemble's longest component (SA-PGD's 100
            # steps), not times one pass: the ensemble has no iterations of its own
            "method=[ensemble] attack.random_eot_samples=10000000",
            "method.ensemble.components.sapgd/assg.params.steps=100, attack.random_eot_samples="
            "10000000 (where the forward is random): 1e+09 gradient passes per batch, over 11.6 "
            "days a batch at 1 ms a pass: the job does not finish in any realistic time",
        ),
        (  # torchattacks' alpha=2/255 given as this project's alpha=2
            "eps=[8] method=[pgd] method.pgd.alpha=0.00784",
            "method.pgd.alpha=0.00784: its 7 steps move at most 0.055/255, under a tenth of eps=8 "
            "(alpha is in 1/255 units, alpha=2 is 2/255); 0.00784 of the range is alpha=1.999",
        ),
    ],
)
def test_a_setting_the_job_cannot_use_is_accepted_with_a_logged_note(
    overrides: str, note: str, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = compose(*overrides.split())
    with caplog.at_level(logging.WARNING, logger="snnattack.config"):
        validate(cfg)
    assert notes(OmegaConf.to_container(cfg, resolve=True), written=written(cfg)) == [note]
    assert [r.getMessage() for r in caplog.records] == [f"note: {note}"]


def written(cfg: DictConfig) -> dict[str, Any]:
    """``cfg`` as written, its interpolations kept: what the notes on whether a key was set
    read beside the resolved tree (``notes``' ``written``)."""
    return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


def test_the_adversarys_ramp_is_held_against_the_epochs_lightning_trains() -> None:
    """The ramp's note compares with the epochs trained, the trainer's (it compared with
    train.epochs only), beside the note that the trainer's replace train.epochs."""
    cfg = compose(
        "train.adversary.method=fgsm", "train.adversary.ramp_epochs=2", "train.epochs=2",
        "trainer.max_epochs=1",
    )  # fmt: skip
    validate(cfg)
    said = notes(OmegaConf.to_container(cfg, resolve=True), written=written(cfg))
    assert said == [
        "trainer.max_epochs=1 replaces train.epochs=2: every training runs 1 epochs (the "
        "model is stored as of train.epochs=1); set train.epochs instead, which "
        "trainer.max_epochs follows",
        "train.adversary.ramp_epochs=2 > trainer.max_epochs=1: the training never reaches "
        "its full eps (its last epoch at 50% of it), though the model's record names the "
        "full eps",
    ]


RAMP = "train.adversary.method=fgsm", "train.adversary.ramp_epochs="


def ramp_notes(*given: str) -> list[str]:
    """The notes of an ε ramp (``train.adversary.ramp_epochs=...``) in ``given``: the one about
    its epochs, the others left out."""
    cfg = compose(*given)
    validate(cfg)
    said = notes(OmegaConf.to_container(cfg, resolve=True), written=written(cfg))
    return [line for line in said if line.startswith("train.adversary.ramp_epochs=")]


@pytest.mark.parametrize(
    ("given", "tuned", "said"),
    [
        # the fine-tuning runs the trainer's 20 epochs, which the ramp of 10 fits: it was
        # held against train.hybrid.epochs=5 and noted as never finishing
        (["train.epochs=30", "trainer.max_epochs=20", "ramp=10"], 20, None),
        # it runs the trainer's 2 epochs, which the ramp of 3 does not fit: it was held
        # against train.hybrid.epochs=5, and said nothing
        (["trainer.max_epochs=2", "ramp=3"], 2, "3 > trainer.max_epochs=2"),
        # set to train.epochs' own value, which resolves as the default does
        (["train.epochs=2", "trainer.max_epochs=2", "ramp=3"], 2, "3 > trainer.max_epochs=2"),
        # unset, it follows train.epochs and the fine-tuning runs its own epochs
        (["train.epochs=2", "ramp=3"], 5, None),
        (["train.epochs=30", "ramp=10"], 5, "10 > train.hybrid.epochs=5"),
    ],
)
def test_a_hybrids_ramp_is_held_against_the_epochs_its_fine_tuning_runs(
    given: list[str], tuned: int, said: str | None
) -> None:
    """A hybrid's adversary crafts in its fine-tuning, which runs trainer.max_epochs where it
    is set (training/parse.py: its config sets train.epochs to train.hybrid.epochs, which the
    trainer's epochs follow only through the default ${train.epochs}), train.hybrid.epochs
    where not: the ramp's note compared with train.hybrid.epochs whatever the trainer's."""
    given = ["train.kind=hybrid", "boxes=[white]", RAMP[0]] + [
        g.replace("ramp=", RAMP[1]) for g in given
    ]
    assert model_settings(compose(*given)).fine_tuning.tree["trainer"]["max_epochs"] == tuned
    expected = []
    if said is not None:
        ramp = int(said.split(" > ")[0])
        expected = [
            f"train.adversary.ramp_epochs={said}: the training never reaches its full eps (its "
            f"last epoch at {tuned / ramp:.0%} of it), though the model's record names the "
            "full eps"
        ]
    assert ramp_notes(*given) == expected


@pytest.mark.parametrize("kind", ["stbp", "ann", "conversion"])
def test_a_ramp_is_held_against_the_trainers_epochs_without_a_fine_tuning(kind: str) -> None:
    """Without a fine-tuning, every kind's adversary (a conversion's on its ANN) trains the
    trainer's epochs, below train.epochs here."""
    found = ramp_notes(f"train.kind={kind}", "train.epochs=5", "trainer.max_epochs=2",
                       RAMP[0], f"{RAMP[1]}3")  # fmt: skip
    assert found == [
        "train.adversary.ramp_epochs=3 > trainer.max_epochs=2: the training never reaches its "
        "full eps (its last epoch at 67% of it), though the model's record names the full eps"
    ]


# settings whose notes tell of a training: the trainer's epochs replacing train.epochs, an ε
# ramp longer than them, an adversary's radius given as a fraction
TRAINING = (
    "train.adversary.method=fgsm", "train.adversary.ramp_epochs=3", "train.epochs=2",
    "trainer.max_epochs=1", "train.adversary.eps=0.03",
)  # fmt: skip


def training_notes(*given: str) -> list[str]:
    """The notes on :data:`TRAINING` beside ``given``, read without the validation (which
    would load the ``checkpoint=`` file or build ``model=external``'s network)."""
    cfg = compose(*TRAINING, *given)
    return notes(OmegaConf.to_container(cfg, resolve=True), written=written(cfg))


@pytest.mark.parametrize(
    "given",
    [
        ["checkpoint=model.pt"],  # the target loaded from a file
        ["model=external"],  # the user's network, built by its factory
        ["model.name=passed"],  # a network passed to snnattack.evaluate
    ],
)
def test_no_training_note_where_the_job_trains_no_model(given: list[str]) -> None:
    """The notes on the trainer's epochs, the ε ramp and the adversary's radius spoke of a
    training of a target that is loaded or the user's, which no job trains: none is said."""
    assert any("trainer.max_epochs=1 replaces" in line for line in training_notes("boxes=[white]"))
    assert training_notes("boxes=[white]", *given) == []


def test_a_trained_black_box_source_keeps_its_training_notes_beside_a_file() -> None:
    """The target a file (``checkpoint=``), the black-box source is still trained from the
    store: its notes stay, the ramp's naming the source's training; with ``source_checkpoint=``
    too nothing is trained, and none is said."""
    said = training_notes("checkpoint=model.pt", "boxes=[white,black]")
    assert said == [
        "trainer.max_epochs=1 replaces train.epochs=2: every training runs 1 epochs (the model "
        "is stored as of train.epochs=1); set train.epochs instead, which trainer.max_epochs "
        "follows",
        "train.adversary.ramp_epochs=3 > trainer.max_epochs=1: the black-box source's training "
        "(source_train=stbp) never reaches its full eps (its last epoch at 33% of it), though "
        "the model's record names the full eps",
        "train.adversary.eps=0.03 is 0.03/255 = 0.00012 of the pixel range (train.adversary.eps "
        "is in 1/255 units, train.adversary.eps=8 is 8/255); 0.03 of the range is "
        "train.adversary.eps=7.65",
    ]
    files = ("checkpoint=model.pt", "source_checkpoint=source.pt", "boxes=[white,black]")
    assert training_notes(*files) == []


def test_an_ann_sources_unread_gradient_names_its_kind_beside_a_file() -> None:
    """Only the black-box source trained (an ANN, whose adversary crafts with its own
    gradient): the note on the unread ``grad_mode`` names ``source_train``, the kind trained,
    not the file's ``train.kind``, whose ``stbp`` is not trained (``grad_mode`` only describes
    how the file was, held to a store file's record)."""
    said = training_notes(
        "checkpoint=model.pt", "boxes=[black]", "source_train=ann",
        "train.adversary.grad_mode=rga",
    )  # fmt: skip
    assert (
        "train.adversary.grad_mode=rga is not read by source_train=ann (its adversary "
        "crafts with the ANN's own gradient): the model is trained and stored as without it" in said
    )


def unread_by_anns(*given: str) -> list[str]:
    """The notes of ``given`` on the settings an ANN does not read (its leak and steps, the
    surrogate's width), composed without the validation (which would load the files)."""
    cfg = compose(*given)
    found = notes(OmegaConf.to_container(cfg, resolve=True), written=written(cfg))
    unread = ("(an ANN has no leak", "(an ANN has no surrogate")
    return [line for line in found if any(said in line for said in unread)]


SURROGATE = "train.surrogate_width=0.5 is not read by "
NEURON = "(an ANN has no leak and no time steps): "


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (  # the file's ANN is attacked, never trained: the note said it was trained without
            ["checkpoint=model.pt", "boxes=[white]", "lambda=0.5", "T=8"],
            f"lambda=0.5, T=8 are not read by the target of train.kind=ann {NEURON}it is "
            "attacked without them",
        ),
        (  # a network passed to snnattack.evaluate, train.kind=ann its label
            ["model.name=passed", "boxes=[white]", "T=8"],
            f"T=8 is not read by the target of train.kind=ann {NEURON}it is attacked without it",
        ),
        (  # trained: as before
            ["boxes=[white]", "T=8"],
            f"T=8 is not read by the target of train.kind=ann {NEURON}it is trained and "
            "attacked without it",
        ),
        (  # the user's network as the source (the API's), crafted on as it is
            ["model.name=passed", "boxes=[black]", "source_T=2"],
            "source_T=2 is not read by the black-box source of train.kind=ann "
            f"{NEURON}its rows are crafted on the ANN without it",
        ),
        (
            ["checkpoint=model.pt", "boxes=[white]", "train.surrogate_width=0.5"],
            f"{SURROGATE}the target of train.kind=ann (an ANN has no surrogate gradient): its "
            "white-box rows are crafted on the ANN without it",
        ),
        (  # both files: no ANN of the job's training
            ["checkpoint=model.pt", "source_checkpoint=source.pt", "train.surrogate_width=0.5"],
            f"{SURROGATE}the target and the black-box source of train.kind=ann (an ANN has no "
            "surrogate gradient): every row is crafted on the ANN without it",
        ),
        (  # the target a file, its source trained from the store
            ["checkpoint=model.pt", "train.surrogate_width=0.5"],
            f"{SURROGATE}the target and the black-box source of train.kind=ann (an ANN has no "
            "surrogate gradient): every row is crafted on an ANN without it (the black-box "
            "source trained without it)",
        ),
        (  # the target trained, its source a file
            ["source_checkpoint=source.pt", "train.surrogate_width=0.5"],
            f"{SURROGATE}the target and the black-box source of train.kind=ann (an ANN has no "
            "surrogate gradient): every row is crafted on an ANN without it (the target "
            "trained without it)",
        ),
        (  # only the trained source crafts: as before
            ["checkpoint=model.pt", "boxes=[black]", "train.surrogate_width=0.5"],
            f"{SURROGATE}the black-box source of train.kind=ann (an ANN has no surrogate "
            "gradient): its rows are crafted on the ANN trained without it",
        ),
    ],
)
def test_an_anns_unread_settings_say_it_was_trained_only_where_the_job_trains_it(
    given: list[str], said: str
) -> None:
    """The notes on an ANN's unread leak, steps and surrogate width said it was "trained and
    attacked without" them, or that rows were "crafted on the ANN trained without it", of a
    target loaded from ``checkpoint=`` or passed to the Python API (``train.kind`` only its
    label) and of a source file, none of which the job trains: they say so only of the ANNs it
    trains (``trains_target``, ``trains_source``), still naming the keys unread."""
    assert unread_by_anns("train.kind=ann", *given) == [said]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        # the hybrid source fine-tunes train.hybrid.epochs=5, the target trains 30: unsaid
        ([], ["10 > train.hybrid.epochs=5: the black-box source's training (source_train=hybrid)"]),
        # the trainer's 20 epochs for both: the ramp of 10 fits
        (["trainer.max_epochs=20"], []),
        # a file's source is not trained
        (["source_checkpoint=source.pt"], []),
        # no black box: no source
        (["boxes=[white]"], []),
    ],
)
def test_a_hybrid_sources_ramp_is_held_against_its_fine_tuning(
    given: list[str], said: list[str]
) -> None:
    """A black-box source of another kind (source_train=hybrid) is trained with the target's
    adversary over its own epochs, a hybrid's in its fine-tuning: the note compared with the
    target's alone."""
    cfg = compose("source_train=hybrid", RAMP[0], f"{RAMP[1]}10", *given)
    resolved_cfg = OmegaConf.to_container(cfg, resolve=True)
    found = [
        line
        for line in notes(resolved_cfg, written=written(cfg))
        if line.startswith("train.adversary.ramp_epochs=")
    ]
    assert found == [
        f"train.adversary.ramp_epochs={line} never reaches its full eps (its last epoch at 50% "
        "of it), though the model's record names the full eps"
        for line in said
    ]


def test_trainer_epochs_set_to_train_epochs_is_noted_as_replacing_the_fine_tunings() -> None:
    """trainer.max_epochs set to train.epochs' own value still replaces a hybrid's
    train.hybrid.epochs (its fine-tuning runs the trainer's epochs, stored as such): the note
    compared the resolved values, equal to the default ${train.epochs}'s, and said nothing."""
    cfg = compose("train.kind=hybrid", "train.epochs=3", "trainer.max_epochs=3")
    said = validate(cfg)
    assert model_settings(cfg).fine_tuning.tree["trainer"]["max_epochs"] == 3  # honoured
    assert said == (
        "trainer.max_epochs=3 replaces train.hybrid.epochs=5: the fine-tuning runs 3 epochs "
        "too (the model is stored as of those); leave trainer.max_epochs unset, which "
        "follows train.epochs=3 and leaves the fine-tuning its own epochs",
    )


@pytest.mark.parametrize(
    "given",
    [
        [],  # the default: trainer.max_epochs follows train.epochs
        ["trainer.max_epochs=${train.epochs}"],  # the default, spelt out
        ["trainer.max_epochs=3"],  # without a fine-tuning, train.epochs' value replaces nothing
    ],
)
def test_trainer_epochs_that_replace_nothing_are_not_noted(given: list[str]) -> None:
    """Where trainer.max_epochs follows train.epochs, a hybrid's fine-tuning runs its own
    train.hybrid.epochs, and where a kind has no fine-tuning, train.epochs' own value trains
    as it would unset: no note."""
    kind = "hybrid" if given != ["trainer.max_epochs=3"] else "stbp"
    cfg = compose(f"train.kind={kind}", "train.epochs=3", *given)
    assert validate(cfg) == ()
    tuning = model_settings(cfg).fine_tuning
    assert tuning is None if kind == "stbp" else tuning.tree["trainer"]["max_epochs"] == 5


@pytest.mark.parametrize(
    "given",
    [
        ["method=[ensemble]"],
        ["method=[ensemble_quick]"],
        # the shipped draws of a random encoding and of a random forward (a benchmark's)
        ["method=[ensemble]", "encoding=poisson", "attack.random_eot_samples=8"],
    ],
)
def test_a_shipped_ensemble_is_not_noted_as_endless(given: list[str]) -> None:
    """The shipped ensembles' components (SA-PGD's 100 steps, Square's 5000 queries, 8 EOT
    draws under a random encoding) finish: their passes stay under the endless note's."""
    assert notes(resolved(compose(*given))) == []


@pytest.mark.parametrize("gpu", [False, True])
def test_an_analysis_asked_for_a_gpu_the_machine_lacks_is_noted(
    gpu: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``analysis.cost.device=gpu`` measured on the CPU without a word where there was no GPU;
    ``auto`` (the GPU if present) is never noted."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    asked = resolved(compose("analysis=[cost]", "analysis.cost.device=gpu"))
    said = (
        "analysis.cost.device=gpu but this machine has no GPU: it runs on the CPU (its device: cpu)"
    )
    assert notes(asked) == ([] if gpu else [said])
    assert notes(resolved(compose("analysis=[cost]"))) == []


def test_the_source_seed_is_checked_only_where_the_source_is_trained(tmp_path: Path) -> None:
    """``seed + source_seed_offset`` past the largest seed is refused for a source the store
    trains, and was for a ``source_checkpoint=`` file too, which no seed trains (the docs:
    ``source_seed_offset`` is not used)."""
    cfg = resolved(compose("seed=4294967295"))
    with pytest.raises(ConfigError, match="seed \\+ source_seed_offset = 4294968295 is out"):
        _source_seed_in_range(cfg)
    _source_seed_in_range({**cfg, "source_checkpoint": str(tmp_path / "source.pt")})
    _source_seed_in_range({**cfg, "boxes": ["white"]})


@pytest.mark.parametrize(
    "given",
    [
        ["source_train=ann", "source_lambda=1.0", "source_T=4"],  # the target's own
        # a protocol's surrogate (experiments/benchmark/*_v1.yaml), pinned whatever the target
        ["source_train=ann", "source_lambda=1.0", "source_T=4", "T=8", "+benchmark.protocol=d"],
        # an ANN target at conf/config.yaml's values, or at the one step it runs (an
        # experiment's per-kind T), or whose spiking source reads them (source_T null)
        ["train.kind=ann", "lambda=1", "T=4"],
        ["train.kind=ann", "T=1"],
        ["train.kind=ann", "source_train=stbp", "lambda=0.5", "T=8"],
        # a protocol pins the target's T (a benchmark of an ANN)
        ["train.kind=ann", "T=8", "+benchmark.protocol=d"],
        # an ANN target's threshold and reset, which its spiking source reads (no source key)
        ["train.kind=ann", "source_train=stbp", "theta=0.5", "reset=soft"],
        ["train.kind=ann", "reset=hard", "theta=1.0"],  # the kind's own reset, conf's theta
    ],
)
def test_an_ann_s_leak_and_steps_are_not_noted_where_no_user_set_them(
    given: list[str],
) -> None:
    cfg = compose(*given)
    assert notes(OmegaConf.to_container(cfg, resolve=True)) == []


def test_a_source_file_without_a_black_box_is_noted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "source.pt"
    source.write_bytes(b"")  # read only by a black-box row, so not here
    cfg = compose(f"source_checkpoint={source}", "boxes=[white]")
    with caplog.at_level(logging.WARNING, logger="snnattack.config"):
        assert validate(cfg) == (
            f"source_checkpoint={source} is read by black-box rows only, and boxes=['white'] "
            "has none: the file is not read",
        )
    assert len(caplog.records) == 1


def test_a_source_seed_offset_beside_a_source_file_is_noted() -> None:
    """The file's source was trained by no seed here: a sweep over the offset repeated its
    rows. The offset at conf/config.yaml's value is not the user's, and says nothing."""
    given = ["source_checkpoint=/models/source.pt", "boxes=[white,black]"]
    cfg = OmegaConf.to_container(compose(*given, "source_seed_offset=7"), resolve=True)
    assert notes(cfg) == [
        "source_seed_offset=7 is not read with source_checkpoint=/models/source.pt: the source "
        "is the file's model, trained by no seed here"
    ]
    assert notes(OmegaConf.to_container(compose(*given), resolve=True)) == []


@pytest.mark.parametrize(
    "given,said",
    [
        (
            ["source_lambda=0.5"],
            "source_lambda=0.5 is read by black-box rows only, and "
            "boxes=['white'] has none: no source model is trained with it",
        ),
        (
            ["source_train=conversion", "source_T=2"],
            "source_train=conversion, source_T=2 are read by "
            "black-box rows only, and boxes=['white'] has none: no source model is trained with "
            "them",
        ),
    ],
)
def test_source_settings_without_a_black_box_are_noted(given: list[str], said: str) -> None:
    """A source setting in a white-box job ran without a word: it trains no source model."""
    cfg = compose(*given, "boxes=[white]")
    assert notes(OmegaConf.to_container(cfg, resolve=True)) == [said]
    assert notes(OmegaConf.to_container(compose(*given), resolve=True)) == []


@pytest.mark.parametrize(
    "given",
    [
        ["attack=hart", "attack.tune.enabled=true", "method=[pgd]", "attack.steps_curve=[7]"],
        ["attack.eot_samples=4", "encoding=poisson"],  # its draws differ
        ["attack.time_extension=2"],  # spiking target and source
        # an ANN target's black-box rows craft on its spiking source, which reads it
        ["train.kind=ann", "source_train=stbp", "boxes=[black]", "attack.time_extension=2"],
        # an ANN target's spiking source trains with the surrogate, a converted model is
        # attacked through it
        ["train.kind=ann", "source_train=stbp", "train.surrogate_width=2"],
        ["train.kind=conversion", "source_train=ann", "train.surrogate_width=2"],
        # an ANN target at the default gradient mode; its spiking source's black-box rows
        # read the mode
        ["train.kind=ann"],
        ["train.kind=ann", "source_train=stbp", "boxes=[black]", "attack=rga"],
        # an ensemble or Square at the default mode and its own params; PGD's rows beside
        # them read the mode (they differ by it)
        ["method=[ensemble,square]"],
        ["method=[square]", "attack=stbp", "attack.params.surrogate=null"],
        ["method=[ensemble,pgd]", "attack=rga"],
        ["method=[square,fgsm]", "attack.params.surrogate=atan"],
        # Square averages no draws: a random forward's draws add no pass to its queries
        ["method=[square]", "attack.random_eot_samples=1000000000000000"],
        # an experiment's adversary block at its defaults, beside the standard recipe
        ["train.adversary.eps=16", "train.adversary.steps=7", "train.adversary.params={}"],
    ],
)
def test_a_setting_every_job_can_use_has_no_note(given: list[str]) -> None:
    cfg = compose(*given)
    assert notes(OmegaConf.to_container(cfg, resolve=True)) == []


@pytest.mark.parametrize("name", ["external", "passed"])
def test_eot_draws_on_a_network_of_ones_own_have_no_note(name: str) -> None:
    """A network of the user's may be random itself: its draws may differ."""
    resolved = {"attack": {"eot_samples": 4}, "model": {"name": name}, "encoding": "direct"}
    assert _eot_on_a_fixed_forward(resolved) == []


def test_a_hybrid_ramp_within_its_fine_tuning_has_no_note() -> None:
    """The adversary of train.kind=hybrid crafts in the fine-tuning's 5 epochs, which reach
    the full eps after 3, however few epochs train.epochs gives the standard ANN."""
    cfg = compose(
        "train.kind=hybrid",
        "train.epochs=2",
        "train.hybrid.epochs=5",
        "train.adversary.method=fgsm",
        "train.adversary.ramp_epochs=3",
    )
    assert notes(OmegaConf.to_container(cfg, resolve=True)) == []


def test_curve_counts_are_sorted_and_each_kept_once() -> None:
    assert curve_counts("pgd", {"steps": 7}, [5, 2, 5, 7]) == [2, 5, 7]
    assert curve_counts("apgd", {"steps": 10, "n_restarts": 2}, [20, 15]) == [15, 20]
    assert curve_counts("fgsm", {}, [1]) == []
    assert curve_counts("gsattack_frames", {"steps": 20}, [1]) == []  # steps on subsets
    assert curve_counts("retime", {"steps": 20}, [1]) == [1]  # every step on the whole batch


def test_every_rule_key_exists_in_some_config_or_is_reserved() -> None:
    """A renamed key must not leave its rule behind, checking nothing."""
    reserved = {
        "attack.time_extension",
        "attack.eot_samples",
        "threads",
        "trainer.num_nodes",
        "trainer.accumulate_grad_batches",
        "trainer.gradient_clip_val",
    }
    text = "\n".join(p.read_text() for p in CONF.rglob("*.yaml"))
    for key in set(RULES) - reserved:
        assert [part for part in key.split(".") if part != "*"][-1] + ":" in text, key


def test_unwritable_output_folder_or_store_is_named(tmp_path: Path) -> None:
    cfg = compose()
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=f"^the output folder='{blocker}/out' cannot be written"):
        validate(cfg, blocker / "out")
    with pytest.raises(ConfigError, match=f"^store.dir='{blocker}/models' cannot be written"):
        writable(blocker / "models", "store.dir", must_exist=False)
    writable(tmp_path / "new" / "models", "store.dir", must_exist=False)  # can be created


def test_a_store_on_a_filesystem_that_stores_no_files_is_refused_before_any_work(
    tmp_path: Path,
) -> None:
    """``/proc`` passed ``os.access`` for root (who runs this machine's jobs): the store's
    own mkdir failed once a model had to be trained, in a line without ``accepted:``."""
    for store in ("/proc/snn", "/proc"):
        cfg = compose(f"store.dir={store}")
        with pytest.raises(ConfigError) as info:
            validate(cfg, tmp_path / "out")
        assert str(info.value) == (
            f"store.dir='{store}' cannot be written (/proc is on a filesystem that stores no "
            "files, as /proc and /sys); accepted: a folder on a writable filesystem"
        )
    assert list(tmp_path.iterdir()) == [] and not Path("/proc/snn").exists()


def test_a_frame_cache_folder_that_cannot_be_made_is_named_by_its_key(tmp_path: Path) -> None:
    """It was found as the first frame was cached, during training: a WriteError naming a
    frame file, not the key (and, from a DataLoader worker, a traceback)."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    cfg = compose("dataset=nmnist", "model=vgg5", f"dataset.params.cache_dir={blocker}/cache")
    with pytest.raises(ConfigError) as info:
        validate(cfg, tmp_path / "out")
    assert str(info.value) == (
        f"dataset.params.cache_dir='{blocker}/cache' cannot be written ({blocker} is not a "
        "folder this user can write); accepted: a writable folder"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_the_apis_name_of_a_passed_network_is_refused_in_a_job(tmp_path: Path) -> None:
    cfg = compose("model.name=passed")
    assert validate(cfg) == ()  # the API's config: the caller's network, no architecture
    with pytest.raises(ConfigError, match="^model.name=passed stands for a network passed to"):
        validate(cfg, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_read_only_output_folder_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        "snnattack.config.preflight.os.access", lambda path, mode: Path(path) != tmp_path
    )
    with pytest.raises(ConfigError, match=f"^the output folder='{tmp_path}' cannot be written"):
        writable(tmp_path, "the output folder")


def test_refused_job_folder_with_only_hydra_files_is_removed(tmp_path: Path) -> None:
    (tmp_path / "job" / ".hydra").mkdir(parents=True)
    (tmp_path / "job" / "run.log").write_text("")
    (tmp_path / "job" / "csv" / "version_0").mkdir(parents=True)  # a logger's, left empty
    discard_job_folder(tmp_path / "job")
    assert not (tmp_path / "job").exists()
    (tmp_path / "logged" / ".hydra").mkdir(parents=True)
    (tmp_path / "logged" / "csv").mkdir()
    (tmp_path / "logged" / "csv" / "metrics.csv").write_text("epoch\n0\n")
    discard_job_folder(tmp_path / "logged")
    assert (tmp_path / "logged" / "csv" / "metrics.csv").exists()  # what the work wrote: kept
    (tmp_path / "done" / ".hydra").mkdir(parents=True)
    (tmp_path / "done" / "metrics.json").write_text("{}")
    discard_job_folder(tmp_path / "done")
    assert (tmp_path / "done" / "metrics.json").read_text() == "{}"


def test_data_error_from_a_loader_worker_is_the_original_line() -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Broken(Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> torch.Tensor:
            raise DataError("cannot read /data/x.pt (truncated); delete the file")

    with pytest.raises(DataError) as err:
        next(iter(DataLoader(Broken(), num_workers=1)))
    assert "Original Traceback" in str(err.value)
    assert one_line(err.value) == "cannot read /data/x.pt (truncated); delete the file"


# Through run.py (in-process): Hydra's own errors, exit code 2, no traceback, nothing left behind
THROUGH_RUN_PY = [
    ("seed=xyz", "error: seed='xyz' is not an integer; accepted: an integer in [0, 4294967295]"),
    (
        "trainer.precision=bf16-mixed",
        "error: trainer.precision='bf16-mixed' is not supported; accepted: 32-true, 32",
    ),
    (
        "model=vgg12",
        "error: model=vgg12 is unknown (did you mean vgg16?); accepted: digits_net, digits_resnet, "
        "dvs_vgg, external, resnet17, resnet19, vgg11, vgg11_eccv, vgg16",
    ),
    ("experiment=typo", "error: experiment=typo is unknown; accepted: cifar100_resnet17, "),
    (  # Hydra's own groups: its multi-line message, with its search path, once
        "hydra/launcher=paralel",
        "error: hydra/launcher=paralel is unknown (did you mean parallel?); accepted: basic, "
        "joblib, local_submitit, parallel, slurm, ",
    ),
    (
        "hydra/sweeper=choise",
        "error: hydra/sweeper=choise is unknown (did you mean choice?); accepted: basic, choice",
    ),
    (  # docs/running.md's slurm line without its launcher: Hydra advised a '+', never read
        "hydra.launcher.partition=gpu",
        "error: hydra.launcher.partition is not a key of the chosen hydra/launcher (it is one "
        "of hydra/launcher=slurm, submitit_slurm); accepted: hydra/launcher=<one of slurm, "
        "submitit_slurm> with it",
    ),
    (  # a key of the experiment= presets only: Hydra advised a '+' and named no reader
        "pgd_alpha=0.5",
        "error: pgd_alpha is set only by the choices of experiment= (experiment=cifar100_resnet17, "
        "cifar100_vgg11, cifar10_resnet17, ...), and none is chosen; accepted: +pgd_alpha=0.5 "
        "to add it, or the key that reads it: method.pgd.alpha=0.5 (method.pgd10.alpha, "
        "method.pgd40.alpha likewise)",
    ),
    (  # with a '+' Hydra added the key, which the basic launcher never read: jobs ran here
        "+hydra.launcher.partition=gpu",
        "error: hydra.launcher.partition is not a key of the chosen hydra/launcher (it is one "
        "of hydra/launcher=slurm, submitit_slurm); accepted: hydra/launcher=<one of slurm, "
        "submitit_slurm> with it",
    ),
    (  # Hydra's basic sweeper gave the FGSM job pgd's setting: "add pgd to method=[...]"
        "-m hydra/sweeper=basic 'method=[fgsm],[pgd]' method.pgd.steps=3",
        "error: method.pgd.steps=3 goes to every job with hydra/sweeper=basic (Hydra's own), "
        "and the jobs of method=[fgsm] hold no pgd; accepted: hydra/sweeper=choice (the "
        "default), which gives it only to the jobs whose method= holds pgd",
    ),
    (  # Hydra's numbered ways out, its flag named --multirun
        "eps=8,16",
        "error: eps=8,16 is a sweep (a job per value), which runs with -m only; accepted: -m "
        "eps=8,16 (the sweep), one value, or eps=[8,16] where eps takes a list",
    ),
    (  # a sweep function without -m: Hydra's "Sweep parameters ... requires --multirun"
        "eps=range(4,17,4)",
        "error: eps=range(4,17,4) is a sweep (a job per value), which runs with -m only; "
        "accepted: -m eps=range(4,17,4) (the sweep), one value, or eps=[4,8,12,16] where eps "
        "takes a list",
    ),
    (  # a glob lists nothing without its sweep's choices
        "method=glob(*)",
        "error: method=glob(*) is a sweep (a job per value), which runs with -m only; accepted: "
        "-m method=glob(*) (the sweep) or one value",
    ),
    (  # joblib failed at the sweep's start with a traceback, its folder written
        "-m hydra/launcher=parallel hydra.launcher.n_jobs=0 lambda=0.5,1.0",
        "error: hydra.launcher.n_jobs=0 is out of range; accepted: an integer other than 0",
    ),
    (  # joblib's semaphore: "Python int too large to convert to C int", a traceback
        "-m hydra/launcher=parallel hydra.launcher.n_jobs=2147483648 lambda=0.5,1.0",
        "error: hydra.launcher.n_jobs=2147483648 is out of range (beyond ±(2**31 - 1), the "
        "largest count the launchers take); accepted: an integer other than 0",
    ),
    (  # Hydra's "Value 'abc' of type 'str' could not be converted to Integer": no accepted
        "-m hydra/launcher=parallel hydra.launcher.n_jobs=abc lambda=0.5,1.0",
        "error: hydra.launcher.n_jobs='abc' is not an integer; accepted: an integer other than 0",
    ),
    (
        "-m hydra/launcher=local_submitit hydra.launcher.cpus_per_task=1.5 lambda=0.5,1.0",
        "error: hydra.launcher.cpus_per_task=1.5 is not an integer; accepted: an integer >= 1",
    ),
    (  # joblib's launcher runs loky whatever it says, and the sweep's record said foo
        "-m hydra/launcher=parallel hydra.launcher.backend=threading lambda=0.5,1.0",
        "error: hydra.launcher.backend=threading is not read: Hydra's joblib launcher runs "
        "loky whatever it says; accepted: loky, or no hydra.launcher.backend",
    ),
    (  # submitit's local job without paths: a traceback
        "-m hydra/launcher=local_submitit hydra.launcher.tasks_per_node=0 lambda=0.5,1.0",
        "error: hydra.launcher.tasks_per_node=0 is out of range; accepted: an integer >= 1",
    ),
    (  # Hydra's line named no accepted override: a key below an empty node of conf/
        "train.adversary.grad_mode=hart train.adversary.params.gamma=0.5",
        "error: train.adversary.params.gamma is not in the config, and an override without + "
        "only changes a key it holds; accepted: +train.adversary.params.gamma=0.5 to add it",
    ),
    (
        "hydra.launcher.foo=1",
        "error: hydra.launcher.foo is not a key of any hydra/launcher; accepted: a key of the "
        "chosen one (python run.py --cfg hydra shows hydra.launcher)",
    ),
    ("lamda=0.9", "error: unknown key 'lamda'; did you mean 'lambda'? accepted: "),
    (  # a key of an earlier version names its successor
        "neuron_kernel=torch",
        "error: unknown key 'neuron_kernel'; it is now backend (neuron_kernel=auto is "
        "backend=c, torch is torch): accepted: ",
    ),
    (
        "+experiments=digits_table2",
        "error: unknown key 'experiments'; did you mean 'experiment'? (digits_table2 is a "
        "sweep of experiments/: python run.py -m -cd experiments -cn digits_table2); accepted: ",
    ),
    (  # it suggested the list, without saying that a list is overridden whole
        f"method=[ensemble] {COMPONENT}.7.params.n_queries=5",
        f"error: unknown key '{COMPONENT}.7.params.n_queries': it is an element of the list "
        f"{COMPONENT}, and a list is overridden whole; accepted: {COMPONENT}=[...], the whole",
    ),
    ("trainer.max_epochs=-1", "error: trainer.max_epochs=-1 is out of range; "),
    ("+attack.params.gamma=0.3", "error: attack.params.gamma=0.3 is unknown; accepted: width"),
    # the newer features' inputs that once ran into a traceback or ran silently (issue 33)
    *[
        (f"method=[ensemble] {COMPONENT}={ENSEMBLE_BAD[i][0]}", f"error: {ENSEMBLE_BAD[i][1]}")
        for i in (0, 1, 5, 8)  # steps: 0, steps: abc, not a list, a repeated component
    ],
    ("attack.steps_curve=[50]", "error: attack.steps_curve=[50] goes beyond method.pgd.steps=7"),
    *[(f"attack=hart attack.tune.enabled=true {o}", f"error: {m}") for o, m in TUNE_BAD[:2]],
    (
        f"{GAMMA}=[0.1,0.5]",
        f"error: {GAMMA}=[0.1,0.5] cannot replace a dict (Cannot merge DictConfig with "
        "ListConfig); accepted: a list of values or {start: a, stop: b >= a, step: s > 0}; a "
        f"list in place of the config's range (or the reverse) replaces it as '~{GAMMA}' "
        f"'+{GAMMA}=[0.1,0.5]'",
    ),
    (  # a value with spaces was cut at its first one, and so was the replacement it suggests
        f"'{GAMMA}=[0.1, 0.5]'",
        f"error: {GAMMA}=[0.1, 0.5] cannot replace a dict (Cannot merge DictConfig with "
        f"ListConfig); accepted: a list of values or {{start: a, stop: b >= a, step: s > 0}}; "
        f"a list in place of the config's range (or the reverse) replaces it as '~{GAMMA}' "
        f"'+{GAMMA}=[0.1, 0.5]'",
    ),
    (  # a whole grid whose axis changes form: "accepted: a dict", which it was
        "attack.tune.grids.hart={gamma:[0.1,0.5]}",
        "error: attack.tune.grids.hart={gamma:[0.1,0.5]} cannot replace a dict (Cannot merge "
        "DictConfig with ListConfig); accepted: each axis in the config's form (a list for a "
        "list, {start, stop, step} for a range), or the whole grid replaced as "
        "'~attack.tune.grids.hart' '+attack.tune.grids.hart={gamma:[0.1,0.5]}'",
    ),
    (
        "attack.params=[1]",
        "error: attack.params=[1] cannot replace a dict (Cannot merge DictConfig with "
        "ListConfig); accepted: a dict of names and values, e.g. attack.params={name:value}",
    ),
    (
        "method.pgd=[1]",
        "error: method.pgd=[1] cannot replace a dict (Cannot merge DictConfig with ListConfig)",
    ),
    (  # a sweep's config without -m: it would run one job at the swept keys' defaults
        f"-cd {EXPERIMENTS} -cn digits_reliable_eval",
        "error: -cn digits_reliable_eval is a sweep (hydra.sweeper.params: attack), run without "
        "-m and without attack: it would run one job at their defaults; accepted: python run.py "
        f"-m -cd {EXPERIMENTS} -cn digits_reliable_eval (the sweep), or one value of each "
        "(attack=...)",  # the -cd folder as given
    ),
    (  # each job in its own folder: a store and data folder per job
        "hydra.job.chdir=true",
        "error: hydra.job.chdir=true would run each job in its own folder, where the relative "
        "paths (store.dir, dataset.params.root, checkpoint=...) name another folder per job",
    ),
    (  # an experiment's settings of a method the override drops (one job of the sweep)
        f"-cd {EXPERIMENTS} -cn digits_reliable_eval attack=stbp method=[apgd,sapgd,ensemble]",
        "error: method.pgd sets steps of pgd, which is not in method=[apgd,sapgd,ensemble]; "
        "accepted: add pgd to method=[...], or drop its settings with '~method.pgd'",
    ),
    (
        "eps={a:1}",
        "error: eps={a:1} cannot replace a list (Cannot merge DictConfig with ListConfig); "
        "accepted: a list, e.g. eps=[a,b]",
    ),
    # the dataset's facts of its data, and its splits: tracebacks once the job had begun
    (
        "dataset.params.test_fraction=1",
        "error: dataset.params.test_fraction=1 is out of range; accepted: 0 < "
        "dataset.params.test_fraction < 1",
    ),
    (
        "dataset.params.val_fraction=0.999",
        "error: dataset.params.test_fraction=0.25 and dataset.params.val_fraction=0.999 leave 1 "
        "training, 1346 validation and 450 test images of the 1797 digits; accepted: fractions "
        "that leave each split at least 10 (one per class)",
    ),
    (
        "dataset.num_classes=20",  # a 20-way network trained on 10 digits, without a word
        "error: dataset.num_classes=20 is not what the digits data hold (10); accepted: 10 (a "
        "fact of dataset=digits, not a setting)",
    ),
    (
        "dataset.in_channels=3",
        "error: dataset.in_channels=3 is not what the digits data hold (1); accepted: 1",
    ),
    ("dataset.mean=abc", "error: dataset.mean='abc' is not a list of numbers; accepted: null or"),
    (
        "dataset.std=[0]",  # the images divided by 0: results written
        "error: dataset.std=[0] is not a list of numbers > 0; accepted: null or a list of "
        "numbers > 0",
    ),
    (
        "dataset.mean=[0.1,0.2,0.3]",
        "error: dataset.mean=[0.1, 0.2, 0.3] holds 3 values for dataset.in_channels=1; "
        "accepted: one value per input channel",
    ),
    (
        "dataset.encodings=[foo]",
        "error: dataset.encodings=['foo'] names an unknown encoding; accepted: a list of "
        "encodings of direct, ",
    ),
    (  # a key that changes results: jobs differing in it would share a model (lambda: KeyError)
        "cosmetic_keys=[lambda]",
        "error: cosmetic_keys=['lambda'] lists a key that changes results; accepted: a list of "
        "keys that change no result, of conf/config.yaml's: attack.reuse, backend, benchmark, ",
    ),
    (
        "cosmetic_keys=5",
        "error: cosmetic_keys=5 is not a list; accepted: a list of keys that change no result",
    ),
    ("paper=5", "error: paper=5 is not a dict; accepted: a dict of the paper's numbers"),
    # a sweep's bad value stops it before its first job (the others once ran first)
    ("-m lambda=0.5,1.5", "error: lambda=1.5 is out of range; accepted: 0 < lambda <= 1"),
    (
        "-m reset=hard,sofft",
        "error: reset='sofft' is unknown (did you mean soft?); accepted: hard, soft",
    ),
    (  # a gradient mode's parameter: job 0 ran, then job 1 was refused
        "-m attack=rga attack.params.beta=2,-1",
        "error: attack.params.beta=-1 is out of range for attack=rga, rga_layerwise; accepted: "
        "a finite number > 0",
    ),
    (
        "-m attack=stbp attack.params.surrogate=triangle,trinagle",
        "error: attack.params.surrogate='trinagle' is unknown",
    ),
    (  # the method's name changed: its file's settings are another method's (steps named)
        "method=[pgd] method.pgd.name=fgsm",
        "error: method.pgd.steps=7 is unknown; accepted: no parameters (method.pgd.name=fgsm: "
        "the settings are method=pgd's file's; choose method=[fgsm] for fgsm's)",
    ),
    (  # the mode set alone: the attack= file's (STBP's) parameters stay, and the fix is named
        "attack.grad_mode=rga",
        "error: attack.params.surrogate=null is unknown; accepted: beta, gamma; or choose the "
        "mode with attack=rga, whose file sets its parameters (attack.grad_mode=rga alone keeps "
        "another mode's: surrogate, width, alpha)",
    ),
    (  # 31 images a step on each of 2 processes, stored as the recipe of 63
        "trainer=ddp_cpu train.batch_size=63",
        "error: train.batch_size=63 does not split over the 2 processes (trainer.devices=2 x "
        "trainer.num_nodes=1): each would train on 31 images a step, another recipe stored as "
        "this one; accepted: a multiple of 2",
    ),
    (  # 64 DDP processes on 2 cores ended no epoch in 5 minutes
        "trainer=ddp_cpu trainer.devices=1000",
        "error: trainer.devices=1000 is more than twice this machine's ",
    ),
    (  # 1000 workers on 2 cores froze the job for good
        "dataset.params.num_workers=1000",
        "error: dataset.params.num_workers=1000 is more than this machine's ",
    ),
    # an interpolation in an override is the job's to resolve (it once was the sweep check's)
    ("T=${oc.env:SNNATTACK_TEST_UNSET_VARIABLE}", "error: T cannot be resolved ("),
    (  # Hydra's printing of a sweep's file at a kind it does not list: a traceback once
        f"-cd {EXPERIMENTS} -cn digits_eccv_kinds --cfg job --resolve",
        "error: a value of the config cannot be resolved (Interpolation key 'kinds.T.stbp' not "
        "found); accepted: a value or an interpolation that resolves",
    ),
    # a method's parameter that its config does not set: Hydra would advise a '+'
    ("method.fgsm.steps=3", "error: method.fgsm.steps=3 is unknown; accepted: no parameters"),
    (
        "method.bim.steps=3",
        "error: method.bim sets steps of bim, which is not in the chosen method=[...]; accepted: "
        "add bim to method=[...]",
    ),
    (  # RGA's ramp from (1 - lambda) theta to beta theta had zero width: ZeroDivisionError
        "attack=rga attack.params.beta=0.5 lambda=0.5",
        "error: attack.params.beta=0.5 ends RGA's ramp at or below its start, the firing onset "
        "(1 - lambda) theta of lambda=0.5 for attack=rga; accepted: beta > 0.5 (1 - lambda)",
    ),
    (  # the adversary's mode named, not the attack's (stbp)
        "train.adversary.method=pgd train.adversary.grad_mode=rga "
        "+train.adversary.params.beta=0.5 lambda=0.2",
        "error: train.adversary.params.beta=0.5 ends RGA's ramp at or below its start, the firing "
        "onset (1 - lambda) theta of lambda=0.2 for train.adversary.grad_mode=rga; accepted: "
        "beta > 0.8 (1 - lambda)",
    ),
    (
        "attack=rga attack.params.beta=0.5 lambda=1.0 source_lambda=0.25",
        "error: attack.params.beta=0.5 ends RGA's ramp at or below its start, the firing onset "
        "(1 - lambda) theta of lambda=0.25 (the source's) for "
        "attack=rga",
    ),
    (  # Hydra's advice quoted the override up to its first space, which was parsed again
        "'method.ensemble.components=[{attack: rga, method: pgd}]'",
        "error: method.ensemble sets components of ensemble, which is not in the chosen "
        "method=[...]; accepted: add ensemble to method=[...]",
    ),
    (  # another dataset's key: Hydra advised a '+', which the job then refused
        "dataset.params.root=/tmp/data",
        "error: dataset.params.root is not a key of the chosen dataset= (it is one of "
        "dataset=cifar10, cifar100, cifar10_dvs, dvs_gesture, nmnist); accepted: dataset=<one of",
    ),
    (  # Hydra reads a sweep's folder with -m only: the job was written elsewhere, silently
        "hydra.sweep.dir=/tmp/elsewhere lambda=0.5",
        "error: hydra.sweep.dir=/tmp/elsewhere sets a sweep's settings, which a run without -m "
        "does not read (this run's folder: hydra.run.dir=...); accepted: python run.py -m",
    ),
    (  # the job ran here, not on the cluster
        "hydra/launcher=submitit_slurm",
        "error: hydra/launcher=submitit_slurm sets a sweep's launcher, which a run without -m "
        "does not read; accepted: python run.py -m ... hydra/launcher=submitit_slurm",
    ),
    (
        "hydra.sweeper.params.lambda=0.5",
        "error: hydra.sweeper.params.lambda=0.5 sweeps lambda through the sweeper's settings, "
        "which a run without -m does not read; accepted: lambda=0.5 (one run), or -m lambda=",
    ),
    (  # the sweeper's key added: "+lamda=0.5 to add it", which was then refused as unknown
        "-m +hydra.sweeper.params.lamda=0.5",
        "error: unknown key 'lamda'; did you mean 'lambda'?",
    ),
    (  # Hydra's line: "Sweeping over Hydra's configuration is not supported : '...'"
        "-m hydra.sweeper.params.lambda=0.5,1.0",
        "error: hydra.sweeper.params.lambda=0.5,1.0 sweeps lambda through the sweeper's "
        "settings, which the command line does not set; accepted: -m lambda=0.5,1.0",
    ),
    (  # a key of a group that ~train removed: not "of the chosen train=", none is chosen
        "~train train.epochs=1",
        "error: train.epochs sets a key of the train group, which an override removed (~train); "
        "accepted: train=<one of digits, paper> with it, which every job reads",
    ),
    (  # an analysis that is not chosen: its options with Hydra's '+', or without
        "analysis.shuffle.mode=neuron",
        "error: analysis.shuffle sets mode of shuffle, which is not in the chosen analysis=[...]; "
        "accepted: add shuffle to analysis=[...]",
    ),
    (
        "+analysis.shuffle.mode=neuron",
        "error: analysis.shuffle lacks limit_batches, seed of its options "
        "(conf/analysis/shuffle.yaml), as when its options are set without analysis=[shuffle]; "
        "accepted: shuffle in analysis=[...] with every option, or no settings of it "
        "('~analysis.shuffle')",
    ),
    (
        "analysis=[shuffle] ~analysis.shuffle.seed",
        "error: analysis.shuffle lacks seed of its options (conf/analysis/shuffle.yaml)",
    ),
    (
        "analysis=[shuffle] train.kind=ann",
        "error: analysis=[shuffle] permutes spike trains over time, but model=digits_net "
        "(train.kind=ann) has 0 spiking layers; accepted: a spiking train.kind",
    ),
    (
        "analysis=[cost] train.kind=ann",
        "error: analysis=[cost] compares the gradient modes' attack steps, one backward on a "
        "model without them, but model=digits_net (train.kind=ann) has 0 spiking layers; "
        "accepted: a spiking train.kind",
    ),
    (
        "analysis=[rate_current] train.kind=ann",
        "error: analysis=[rate_current] reads a spiking layer, but model=digits_net "
        "(train.kind=ann) has 0 spiking layers; accepted: a spiking train.kind",
    ),
    (  # one step has one order: the shuffled accuracy was the clean one, read as rate coding
        "analysis=[shuffle] T=1",
        "error: analysis=[shuffle] permutes spike trains over time, but T=1 has one time step, "
        "which no permutation changes (the shuffled accuracy would be the clean one); "
        "accepted: T >= 2, or no shuffle in analysis=[...]",
    ),
]


@pytest.mark.parametrize(
    "override,line",
    THROUGH_RUN_PY,
    ids=[s[0].replace(str(EXPERIMENTS), "experiments") for s in THROUGH_RUN_PY],
)
def test_run_py_refuses_bad_input_with_exit_2_and_leaves_nothing(
    tmp_path: Path, cli: Callable, override: str, line: str
) -> None:
    store = tmp_path / "models"
    store.mkdir()
    (store / "kept.txt").write_bytes(b"model bytes")
    proc = cli(*shlex.split(override), f"hydra.run.dir={tmp_path}/out", f"store.dir={store}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), proc.stderr
    assert "accepted: " in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]
    assert [p.name for p in store.iterdir()] == ["kept.txt"]
    assert (store / "kept.txt").read_bytes() == b"model bytes"


@pytest.mark.parametrize("held", ["a finished job", "a user's own files", "nothing"])
def test_a_job_refused_in_a_folder_that_holds_files_leaves_them_as_they_were(
    tmp_path: Path, cli: Callable, held: str
) -> None:
    """Hydra writes a job's record (.hydra/*.yaml, run.log) before the job runs, into folders
    it makes (outputs/<date>/<time>): a refused one put back what was there and removes what
    was not."""
    folder = tmp_path / "job" if held != "nothing" else tmp_path / "outputs" / "day" / "time"
    before = {
        "a finished job": {".hydra/config.yaml": b"T: 4\n", ".hydra/overrides.yaml": b"- T=4\n"}
        | {"metrics.json": b"{}", "run.log": b"the finished job's log\n"},
        "a user's own files": {"notes.txt": b"mine"},
        "nothing": {},
    }[held]
    if held == "nothing":
        proc = cli("trainer.num_nodes=2", f"hydra.run.dir={folder}")
        assert proc.returncode == 2 and list(tmp_path.iterdir()) == [], proc.stderr[-2000:]
        return
    for name, content in before.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    proc = cli("trainer.num_nodes=2", f"hydra.run.dir={folder}")  # refused by the job
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "trainer.num_nodes=2 but this process" in proc.stderr
    after = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in folder.iterdir()) == sorted({n.split("/")[0] for n in before})


SPLIT = "is one override split by spaces; accepted: lambda=0.5 (key=value as one argument"


@pytest.mark.parametrize(
    "argv,line",
    [
        ("lambda = 0.5", f"'lambda = 0.5' {SPLIT}"),  # once: '=' named a config
        ("lambda= 0.5", f"'lambda= 0.5' {SPLIT}"),  # once: lambda='' refused, 0.5 ignored
        ("lambda =0.5", f"'lambda =0.5' {SPLIT}"),
        ("-m T=4 lambda", "lambda has no value; accepted: lambda=<value> (python run.py"),
        # no key: Hydra's ValueError ('Config group override must be a string') as a traceback
        ("=3", "'=3' has no key before '='; accepted: key=value, e.g. lambda=0.5 (python run.py"),
        ("-m =3,4", "'=3,4' has no key before '='"),
        ("~=3", "'~=3' has no key before '='"),
        ("T=4 =3", "'=3' has no key before '='"),  # not 'T=4 =3' split: it advised T=4=3
        ("=abc", "'=abc' has no key before '='"),  # once: 'abc' named a primary config
        ("--foo", "unrecognized arguments: --foo; accepted: the options that python run.py"),
        ("--cfg jobb", "argument --cfg/-c: invalid choice: 'jobb' (choose from 'job', 'hydra'"),
        (  # argparse reads one run of positional arguments
            "T=4 --cfg job lambda=0.5",
            "lambda=0.5 come after an option that follows other overrides",
        ),
        (
            "-m --cfg job T=4,8",
            "-m and --cfg cannot go together: Hydra does one of -m, --run, --cfg, --info, "
            "--shell-completion; accepted: one of them (to see one job of a sweep: --cfg job "
            "without -m, one value per swept key)",
        ),
        ("--cfg job --info", "--cfg and --info cannot go together"),
        ("--run --cfg job", "--run and --cfg cannot go together"),
        ("-m seed=0,1 hydra.job.chdir=true", "hydra.job.chdir=true would run each job in its"),
        (  # docs/report.md's switch: 'no' was a text, which the callback took as true
            "hydra.callbacks.report.single=no",
            "hydra.callbacks.report.single='no' is not true or false; accepted: true (a single "
            "run's report into its folder, the default) or false",
        ),
        ("hydra.run.dir=", "hydra.run.dir='' names no folder: the job's files (metrics.json,"),
        ("T=4 hydra.run.dir=''", "hydra.run.dir='' names no folder"),
        ("-m seed=0,1 hydra.sweep.dir=", "hydra.sweep.dir='' names no folder"),
        ("-m seed=0,1 hydra.sweep.subdir=''", "hydra.sweep.subdir='' names no folder"),
        (
            "-m lambda=0.5,1.0 hydra.sweep.dir=sw_l${lambda}",
            "hydra.sweep.dir=sw_l${lambda} names a folder per value of lambda: the sweep's "
            "summary, failures and report are made in its one folder and would see no job; "
            "accepted: a hydra.sweep.dir without them, and hydra.sweep.subdir=... for each job's "
            "folder (e.g. hydra.sweep.subdir=lambda${lambda})",
        ),
        (
            "-m seed=0,1 hydra.sweep.dir=sw/${hydra.job.override_dirname}",
            "hydra.sweep.dir=sw/${hydra.job.override_dirname} names a folder per job",
        ),
        (
            "-m seed=0,1 hydra.sweep.dir=sw/${hydra:job.num}",
            "hydra.sweep.dir=sw/${hydra:job.num} names a folder per job",
        ),
        (
            "-m attack=rga,stbp hydra.sweep.dir=sw/${hydra.runtime.choices.attack}",
            "hydra.sweep.dir=sw/${hydra.runtime.choices.attack} names a folder per value of attack",
        ),
        ("--cfg hydra -m", "-m and --cfg cannot go together"),
        ("-m --info", "-m and --info cannot go together"),
    ],
)
def test_arguments_hydra_would_misread_are_refused_in_one_line(argv: str, line: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_argument_form(argv.split())
        check_hydra_folders(argv.split(), CONF)
    assert str(err.value).startswith(line) and "accepted: " in str(err.value)


@pytest.mark.parametrize(
    "argv",
    [
        "-m attack=rga,stbp lambda=0.5,0.9",
        "--cfg job T=4 ~store.dir +seed=1 logger.wandb.tags= hydra/launcher=parallel",
        "-cd experiments -cn digits_table2 --info defaults",
        "-m lambda=0.5,1.0 hydra.sweep.dir=sw/${now:%H-%M} hydra.sweep.subdir=l${lambda}",
        "-m lambda=0.5,1.0 hydra.sweep.dir=sw/${hydra.job.config_name}",  # one per sweep
        "-cd eq=1 -cn mine lambda=0.5",  # an option's value with '=' is no override
        "-m lambda=interval(0.5,1.0) hydra/sweeper=optuna",  # a sampling sweeper's
        "~hydra.callbacks.report.single T=4",  # a deletion is Hydra's: no value of null
        "~hydra.callbacks.report.single=true T=4",
    ],
)
def test_arguments_in_hydras_forms_pass_the_form_check(argv: str) -> None:
    check_argument_form(argv.split())
    check_hydra_folders(argv.split(), CONF)


@pytest.mark.parametrize(
    "argv",
    [
        "hydra/launcher=slurm +hydra.launcher.partition=gpu",  # the chosen launcher's key
        "+hydra.sweeper.params.lambda=0.5,1.0",  # the choice sweeper's params
        "hydra/launcher=mine +hydra.launcher.queue=q",  # a launcher this cannot read
    ],
)
def test_a_launchers_key_added_with_plus_passes_where_the_chosen_launcher_has_it(
    argv: str,
) -> None:
    check_hydra_added(argv.split(), CONF)


@pytest.mark.parametrize(
    "argv",
    [
        "-m hydra/sweeper=basic method=[pgd],[pgd,fgsm] method.pgd.steps=3",  # every job's
        "-m method=[fgsm],[pgd] method.pgd.steps=3",  # the choice sweeper's to give
        "hydra/sweeper=basic method=[pgd] method.pgd.steps=3",  # one job
    ],
)
def test_a_methods_setting_that_each_job_of_a_basic_sweep_takes_passes(argv: str) -> None:
    check_basic_sweep(argv.split(), CONF)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        ("hydra.run.dir={f}", "hydra.run.dir={f} names a file, not a folder; accepted: a folder"),
        ("hydra.run.dir={f}/x", "hydra.run.dir={f}/x lies below {f}, which is a file; accepted"),
        ("-m hydra.sweep.dir={f}", "hydra.sweep.dir={f} names a file, not a folder; accepted"),
        (
            "-m hydra.sweep.dir={d} hydra.sweep.subdir=results.csv",
            "hydra.sweep.subdir=results.csv names a file ({f}), not a folder; accepted: a folder",
        ),
    ],
)
def test_a_job_folder_that_is_a_file_is_refused_naming_its_key(
    tmp_path: Path, argv: str, line: str
) -> None:
    """Hydra's mkdir failed and the line named the path ("cannot write PATH (File exists)")
    but not the key that set it."""
    file = tmp_path / "results.csv"
    file.write_text("")
    given = argv.format(f=file, d=tmp_path).split()
    with pytest.raises(ConfigError) as err:
        check_hydra_folders(given, CONF)
    assert str(err.value).startswith(line.format(f=file))


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        ("hydra.run.dir={r}", "hydra.run.dir='{r}' cannot be written ({r} is not a folder this"),
        ("hydra.run.dir={r}/x", "hydra.run.dir='{r}/x' cannot be written ({r} is not a folder"),
        ("-m hydra.sweep.dir={r}/s", "hydra.sweep.dir='{r}/s' cannot be written ({r} is not a"),
        ("-m hydra.sweep.dir={r}/${{now:%H}}", "hydra.sweep.dir='{r}/${{now:%H}}' cannot be"),
        (  # below a writable hydra.sweep.dir
            "-m hydra.sweep.dir={t} hydra.sweep.subdir=ro",
            "hydra.sweep.subdir='{r}' cannot be written ({r} is not a folder this user can",
        ),
        ("hydra.run.dir=/proc/snn_job", "hydra.run.dir='/proc/snn_job' cannot be written (/proc"),
        ("-m hydra.sweep.dir=/proc/snn", "hydra.sweep.dir='/proc/snn' cannot be written (/proc is"),
    ],
)
def test_a_job_folder_that_cannot_be_written_is_refused_naming_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: str, line: str
) -> None:
    """Hydra's mkdir (or its job log) failed and the line named the path ("cannot write PATH
    (Permission denied)", "the output folder='PATH' cannot be written") but not the key."""
    read_only = tmp_path / "ro"
    read_only.mkdir()
    monkeypatch.setattr("snnattack.config.folders.os.access", lambda p, m: Path(p) != read_only)
    with pytest.raises(ConfigError) as err:
        check_hydra_folders(argv.format(r=read_only, t=tmp_path).split(), CONF)
    assert str(err.value).startswith(line.format(r=read_only)), err.value


@pytest.mark.parametrize(
    "argv",
    [
        "-m hydra.run.dir={r}/x hydra.sweep.dir={w}",  # a sweep does not use hydra.run.dir
        "hydra.sweep.dir={r}/x hydra.run.dir={w}",  # nor a single run hydra.sweep.dir
        "hydra.run.dir=${{oc.env:HOME}}/x",  # where it lies is Hydra's to resolve
        "hydra.run.dir={w}/new/${{now:%H}}",  # made below a writable folder
    ],
)
def test_a_job_folder_the_job_can_write_or_does_not_use_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: str
) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    monkeypatch.setattr("snnattack.config.folders.os.access", lambda p, m: Path(p) != read_only)
    check_hydra_folders(argv.format(r=read_only, w=tmp_path).split(), CONF)


def test_a_job_folder_on_proc_is_refused_by_run_py_in_one_line(cli: Callable) -> None:
    proc = cli("hydra.run.dir=/proc/snn_job")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: hydra.run.dir='/proc/snn_job' cannot be written (/proc is on a filesystem that "
        "stores no files, as /proc and /sys); accepted: a folder on a writable filesystem"
    ]


def test_a_value_without_a_key_is_one_line_without_a_traceback(cli: Callable) -> None:
    """``python run.py =3`` ended in Hydra's ValueError and its traceback."""
    proc = cli("=3")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: '=3' has no key before '='; accepted: key=value, e.g. lambda=0.5 (python run.py "
        "--cfg job lists the keys)"
    ]


@pytest.mark.parametrize(
    "word,why",
    [
        ("lambda=[0.5", "no viable alternative at input '[0.5'"),
        ("lambda=0.5)", "extraneous input ')' expecting <EOF>"),
        (".x=1", "LexerNoViableAltException: .x=1"),
    ],
)
def test_an_override_hydras_grammar_cannot_parse_is_named(
    cli: Callable, word: str, why: str
) -> None:
    """Hydra's parse error said where it stopped ('[0.5') but not which override, nor the
    accepted forms."""
    proc = cli("T=4", word)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {word} cannot be parsed ({why}); accepted: key=value in Hydra's override "
        "grammar (a list [a,b], a dict {k:v}; quoted where the value holds spaces: 'key=a b'; "
        "https://hydra.cc/docs/1.2/advanced/override_grammar/basic)"
    ]


@pytest.mark.parametrize("key", ["nosuch.key", "checkpoint"])
def test_removing_a_key_the_config_lacks_or_holds_null_says_what_is_accepted(
    cli: Callable, key: str
) -> None:
    """Hydra's 'Could not delete from config' named the key but not what ``~`` accepts (a
    null value, as ``checkpoint``'s, counts as absent to it)."""
    proc = cli(f"~{key}")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: ~{key} removes nothing: the config has no {key}, or it is null; accepted: ~ "
        "before a key that python run.py --cfg job shows with a value"
    ]


def test_an_unknown_option_is_one_line_without_argparses_usage_block(cli: Callable) -> None:
    proc = cli("--foo")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unrecognized arguments: --foo; accepted: the options that python run.py --help "
        "lists (-m, -cd DIR, -cn NAME, --cfg job, ...) and key=value overrides"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["-cd", str(EXPERIMENTS / "benchmark"), "-cn", "digits_v1"],
        ["--config-dir", str(EXPERIMENTS / "benchmark"), "--config-name=digits_v1.yaml"],
        ["-cn", "config"],  # a config of conf/
        ["-cp", "elsewhere", "-cn", "anything"],  # -cp: Hydra finds it
        ["lambda=0.5"],
    ],
)
def test_a_config_name_that_exists_passes(argv: list[str]) -> None:
    check_config_name(argv, CONF)


@pytest.mark.parametrize("word", ["lambda = 0.5", "lambda =0.5"])
def test_one_argument_with_a_space_before_its_equals_sign_is_refused(word: str) -> None:
    """Passed quoted as one argument, Hydra's grammar refused it as a LexerNoViableAlt (a
    space after '=' it reads)."""
    with pytest.raises(ConfigError) as err:
        check_argument_form([word])
    assert str(err.value) == (
        f"'{word}' has a space before '='; accepted: lambda=0.5 (key=value with no space around "
        "'='; quoted where the value holds spaces: 'key=a b')"
    )
    check_argument_form(["logger.wandb.tags=[a b]", "logger.wandb.notes= two words"])


@pytest.mark.parametrize("name", [["-cn", "mine"], ["-cn", "config"], []])
def test_a_config_folder_that_does_not_exist_is_named_so(tmp_path: Path, name: list) -> None:
    with pytest.raises(ConfigError) as err:
        check_config_name(["-cd", str(tmp_path / "nonexist"), *name], CONF)
    assert str(err.value) == (
        f"-cd {tmp_path / 'nonexist'} is not a folder; accepted: an existing folder of configs"
    )


def test_the_checkouts_experiments_named_from_another_folder_are_named_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``snnattack --help``'s example, ``-cd experiments``, run outside the checkout: the
    line named neither the folder it was read in nor the one meant."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_config_name(["-cd", "experiments", "-cn", "digits_table2"], CONF)
    assert str(err.value) == (
        f"-cd experiments is not a folder of {tmp_path}; accepted: an existing folder of "
        f"configs (-cd {CONF.parent / 'experiments'})"
    )


def test_a_config_name_without_a_file_names_the_folders_configs() -> None:
    folder = EXPERIMENTS / "benchmark"
    with pytest.raises(ConfigError) as err:
        check_config_name(["-cd", str(folder), "-cn", "cifar10_linf16_v1"], CONF)
    assert str(err.value) == (
        f"-cn cifar10_linf16_v1 is not a config of {folder} (did you mean cifar10_linf8_v1?); "
        "accepted: cifar100_linf4_v1, cifar100_linf8_v1, cifar10_linf4_v1, cifar10_linf8_v1, "
        "digits_entries, digits_v1"
    )


def test_a_number_given_as_text_is_named_so_with_the_way_to_read_it_as_a_number(
    cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``seed=${oc.env:SLURM_ARRAY_TASK_ID}``, a cluster's usual form, gives the text '3'."""
    monkeypatch.setenv("MYSEED", "3")
    proc = cli("seed=${oc.env:MYSEED}", f"hydra.run.dir={tmp_path}/out")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: seed='3' is text, not a number; accepted: an integer in [0, 4294967295]"
    )
    proc = cli("T=null", f"hydra.run.dir={tmp_path}/out")
    assert proc.stderr.strip() == "error: T=null sets no value; accepted: an integer >= 1"


def test_a_config_of_ones_own_without_the_packages_is_named_so(
    cli: Callable, tmp_path: Path
) -> None:
    """... before Hydra makes a folder: a run or a sweep of it leaves nothing (without the
    package's hydra.callbacks a sweep of refused jobs would keep their folders and exit 0)."""
    (tmp_path / "bare.yaml").write_text("T: 8\nlambda: 0.5\n")  # no `- config` in defaults
    for sweep in ([], ["-m", "lambda=0.5,0.9"]):
        proc = cli(*sweep, "-cd", str(tmp_path), "-cn", "bare")
        assert proc.returncode == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bare.yaml"]
    assert proc.stderr.strip().startswith(
        "error: the config holds none of the package's groups (dataset, model, train, attack, "
        "trainer, logger): a config of your own that does not start from the package's; "
        "accepted: defaults: [config, _self_] at its top"
    )


def test_a_config_of_ones_own_may_reach_the_packages_through_another_of_ones_own(
    tmp_path: Path,
) -> None:
    """``defaults: [base]``, whose own defaults start from ``config``, is the package's config;
    a circle of the user's files that never names it is not; a default found nowhere is
    Hydra's to refuse."""
    (tmp_path / "base.yaml").write_text("defaults:\n  - config\n  - _self_\nT: 8\n")
    (tmp_path / "mine.yaml").write_text("defaults:\n  - /base\n  - _self_\nlambda: 0.5\n")
    (tmp_path / "a.yaml").write_text("defaults:\n  - b\n  - attack: rga\n")
    (tmp_path / "b.yaml").write_text("defaults:\n  - optional a\n")
    (tmp_path / "lost.yaml").write_text("defaults:\n  - nowhere\n")
    for name in ("mine", "base", "lost"):
        check_starts_from_package(["-cd", str(tmp_path), "-cn", name], CONF)
    with pytest.raises(ConfigError, match="none of the package's groups"):
        check_starts_from_package(["-cd", str(tmp_path), "-cn", "a"], CONF)


SWEEP_FILE = "defaults:\n  - config\n  - _self_\nhydra:\n  sweeper:\n    params:\n      {}\n"


@pytest.mark.parametrize(
    ("params", "given", "line"),
    [
        (
            "reset: hard,sofft",
            "",
            "error: reset='sofft' is unknown (did you mean soft?); accepted: hard, soft",
        ),
        ("T: 2,-1", "", "error: T=-1 is out of range; accepted: an integer >= 1"),
        ("method: '[fgsm],[pgdd]'", "", "error: method=pgdd is unknown (did you mean pgd?)"),
        (
            "method: '[fgsm],[pgd]'",
            "hydra/sweeper=basic method.pgd.steps=3",
            "error: method.pgd.steps=3 goes to every job with hydra/sweeper=basic (Hydra's own)",
        ),
    ],
)
def test_a_sweep_of_the_cn_files_params_is_checked_as_the_command_lines(
    tmp_path: Path, cli: Callable, params: str, given: str, line: str
) -> None:
    """A sweep in a file's ``hydra.sweeper.params`` (docs/experiments.md) was not read by the
    checks of a command line's sweep: a mistyped value failed its jobs only after the others
    had trained and run, and the basic sweeper's method setting stopped the sweep mid-way."""
    (tmp_path / "mine.yaml").write_text(SWEEP_FILE.format(params))
    proc = cli("-m", "-cd", str(tmp_path), "-cn", "mine", *given.split(), "hydra.sweep.dir=sw")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith(line), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]


def test_a_cn_file_in_multirun_mode_has_its_sweep_checked_without_m(
    tmp_path: Path, cli: Callable
) -> None:
    """``hydra: {mode: MULTIRUN}`` in the ``-cn`` file makes Hydra sweep without ``-m``: its
    sweep is checked as one given with ``-m`` (a mistyped value failed its job after the
    others had run), and a file without it sweeps nothing."""
    mode = SWEEP_FILE.format("reset: hard,sofft").replace("hydra:\n", "hydra:\n  mode: MULTIRUN\n")
    (tmp_path / "mine.yaml").write_text(mode)
    proc = cli("-cd", str(tmp_path), "-cn", "mine", "hydra.sweep.dir=sw")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: reset='sofft' is unknown (did you mean soft?); accepted: hard, soft"
    ], proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]
    argv = ["-cd", str(tmp_path), "-cn", "mine"]
    assert multirun(argv, CONF) and not multirun([*argv, "hydra.mode=RUN"], CONF)
    (tmp_path / "mine.yaml").write_text(SWEEP_FILE.format("reset: hard,sofft"))
    assert not multirun(argv, CONF) and with_file_sweep(argv, CONF) == argv


def test_a_key_the_command_line_sets_is_not_swept_by_the_cn_file(tmp_path: Path) -> None:
    """Hydra's sweeper reads the file's params before the command line's, which win."""
    (tmp_path / "mine.yaml").write_text(SWEEP_FILE.format("T: 2,-1"))
    argv = ["-m", "-cd", str(tmp_path), "-cn", "mine", "T=2"]
    assert with_file_sweep(argv, CONF) == argv
    assert with_file_sweep([*argv[:-1], "seed=1"], CONF) == [*argv[:-1], "seed=1", "T=2,-1"]
    assert with_file_sweep(argv[1:], CONF) == argv[1:]  # without -m the file sweeps nothing
    # the file's sweep of T removed: nothing of it checked (it was checked as T='')
    removed = [*argv[:-1], "~hydra.sweeper.params.T"]
    assert with_file_sweep(removed, CONF) == removed


def test_the_cn_file_is_parsed_once_per_text_and_read_again_once_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks before Hydra read the ``-cn`` file a dozen times per command: it is parsed
    once (each parse took about 10 ms of the command's start, 0.2 s in all), and a file
    rewritten since, to the same length too, is read as it is now."""
    parses: list[str] = []
    parse = command_line.yaml.safe_load
    monkeypatch.setattr(command_line.yaml, "safe_load", lambda t: parses.append(t) or parse(t))
    command_line._parsed.cache_clear()
    (tmp_path / "mine.yaml").write_text(SWEEP_FILE.format("T: 2,-1"))
    argv = ["-m", "-cd", str(tmp_path), "-cn", "mine", "seed=1"]
    for _ in range(3):
        assert with_file_sweep(argv, CONF) == [*argv, "T=2,-1"]
    assert len(parses) == 1
    (tmp_path / "mine.yaml").write_text(SWEEP_FILE.format("T: 3,-1"))
    assert with_file_sweep(argv, CONF) == [*argv, "T=3,-1"]
    assert len(parses) == 2
    # a tree handed out is the caller's own: a change to it is not the next read's
    command_line.file_sweep(argv, CONF)["T"] = "9"
    assert with_file_sweep(argv, CONF) == [*argv, "T=3,-1"]


def test_a_command_lines_overrides_are_parsed_once_and_each_caller_gets_its_own_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checks before Hydra ask for the command line's overrides about twenty times per
    command: Hydra's parser reads them once (2 ms a parse); another command line is read
    as it is."""
    parser = command_line.OverridesParser
    parse, parses = parser.parse_overrides, []
    monkeypatch.setattr(parser, "parse_overrides", lambda s, w: parses.append(w) or parse(s, w))
    command_line._overrides.cache_clear()
    argv = ["-m", "lambda=0.5,1.0", "~method", "T=4"]
    first = command_line.parsed_overrides(argv)
    first.clear()
    again = command_line.parsed_overrides(argv)
    assert [o.key_or_group for o in again] == ["lambda", "T"] and len(parses) == 1
    deletions = command_line.parsed_overrides(argv, bare_deletions=True)
    assert [o.key_or_group for o in deletions] == ["lambda", "method", "T"]
    assert [o.key_or_group for o in command_line.parsed_overrides(["T=8"])] == ["T"]
    assert len(parses) == 3


def test_a_job_folder_the_cn_file_sets_is_checked_as_the_command_lines(tmp_path: Path) -> None:
    """A ``-cn`` file's ``hydra.run.dir`` (``hydra.sweep.dir``) that is a file or cannot be
    written failed in Hydra's mkdir, naming no key; the command line's value replaces it."""
    (tmp_path / "results.csv").write_text("")
    file = "defaults:\n  - config\n  - _self_\nhydra:\n  {}:\n    dir: {}\n"
    where = ["-cd", str(tmp_path), "-cn", "mine"]
    (tmp_path / "mine.yaml").write_text(file.format("run", "/proc/snn_job"))
    with pytest.raises(ConfigError, match=r"^hydra.run.dir='/proc/snn_job' cannot be written"):
        check_hydra_folders(where, CONF)
    check_hydra_folders([*where, f"hydra.run.dir={tmp_path}/job"], CONF)
    check_hydra_folders(["-m", *where], CONF)  # a sweep does not use hydra.run.dir
    (tmp_path / "mine.yaml").write_text(file.format("sweep", tmp_path / "results.csv"))
    with pytest.raises(ConfigError, match=r"^hydra.sweep.dir=\S+results.csv names a file"):
        check_hydra_folders(["-m", *where], CONF)


def test_a_basic_sweeper_the_cn_file_chooses_is_read_by_the_sweep_check(tmp_path: Path) -> None:
    """``- override hydra/sweeper: basic`` in the file's defaults: the FGSM job was refused
    ("pgd, which is not in the chosen method=[...]") after the sweep's folder was made."""
    (tmp_path / "mine.yaml").write_text(
        "defaults:\n  - config\n  - override hydra/sweeper: basic\n  - _self_\n"
        "hydra:\n  sweeper:\n    params:\n      method: '[fgsm],[pgd]'\n"
    )
    argv = ["-m", "-cd", str(tmp_path), "-cn", "mine", "method.pgd.steps=3"]
    with pytest.raises(ConfigError, match=r"^method.pgd.steps=3 goes to every job with hydra/"):
        check_basic_sweep(with_file_sweep(argv, CONF), CONF)
    check_basic_sweep(with_file_sweep([*argv, "hydra/sweeper=choice"], CONF), CONF)


def test_the_default_job_folder_in_a_folder_that_cannot_be_written_names_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """outputs/<date>/<time> (multirun/... with -m) below a read-only launch folder: Hydra's
    mkdir failed naming the path but not the key that moves it; printing the config makes no
    folder and passes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("snnattack.config.folders.os.access", lambda p, m: Path(p) != Path("."))
    for argv, key in (([], "hydra.run.dir='outputs/"), (["-m"], "hydra.sweep.dir='multirun/")):
        with pytest.raises(ConfigError, match=f"^{re.escape(key)}.+cannot be written"):
            check_hydra_folders(argv, CONF)
        check_hydra_folders([*argv, "--cfg", "job"], CONF)
    check_hydra_folders([f"hydra.run.dir={tmp_path.parent}/job"], CONF)


def test_a_key_refused_for_an_empty_environment_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``SNNATTACK_STORE= python run.py`` said ``store.dir=''`` is out of range, a key the
    user never set: the line names the variable that set it."""
    monkeypatch.setenv("SNNATTACK_STORE", "")
    with pytest.raises(ConfigError) as err:
        validate(compose())
    assert str(err.value) == (
        "store.dir='' is out of range; accepted: a non-empty name (from the environment "
        "variable SNNATTACK_STORE='': unset it for the default, or set it to an accepted value)"
    )
    with pytest.raises(ConfigError) as err:  # given on the command line: no variable named
        validate(compose("store.dir=''"))
    assert str(err.value) == "store.dir='' is out of range; accepted: a non-empty name"
