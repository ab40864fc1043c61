"""The suite's composition (``harness.compose``: Hydra's defaults list composed once per
process, the other overrides applied by Hydra's own code on a copy) equals Hydra's in one
call, refusals included: every config test stands on it."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import BLOCK, CONF, EXPERIMENTS, FULL, HEADER, compose, compose_whole, wandb_records
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf._utils import get_yaml_loader

SAME = [  # each form of override: a value, an addition, a forced one, a deletion; in a group
    (),
    ("eps=[8]", "lambda=0.5", "+extra_key=1", "++seed=4", "~attack.tune.grids.stbp"),
    (
        "attack=hart",
        "attack.tune.enabled=true",
        "~attack.tune.grids.hart.gamma",
        "+attack.tune.grids.hart.gamma=[0.1,0.5]",
    ),
    ("method=[pgd]", "method.pgd.steps=5", "logger=wandb", "logger.wandb.project=p"),
    ("analysis=[cost]", "analysis.cost.repeats=1"),
]


@pytest.mark.parametrize("overrides", SAME, ids=lambda o: " ".join(o) or "defaults")
def test_the_staged_composition_is_hydras(overrides: tuple[str, ...]) -> None:
    staged, whole = compose(*overrides), compose_whole(*overrides)
    assert OmegaConf.to_container(staged) == OmegaConf.to_container(whole)
    assert OmegaConf.to_container(staged, resolve=True) == OmegaConf.to_container(
        whole, resolve=True
    )
    assert OmegaConf.is_struct(staged) and OmegaConf.is_struct(whole)


def test_an_experiment_and_the_hydra_node_compose_as_hydra_does() -> None:
    for kwargs in ({"experiment": "digits_table2"}, {"hydra": True}):
        staged = compose("eps=[8]", "seed=2", **kwargs)
        whole = compose_whole("eps=[8]", "seed=2", **kwargs)
        assert OmegaConf.to_container(staged) == OmegaConf.to_container(whole)


@pytest.mark.parametrize(
    "overrides",
    [("no_such_key=1",), ("~no_such_key",), ("+seed=1",), ("seed=1,2",), ("eps=[8",)],
    ids=["unknown key", "delete unknown", "add existing", "sweep", "bad syntax"],
)
def test_a_refusal_is_hydras(overrides: tuple[str, ...]) -> None:
    with pytest.raises(HydraException) as whole:
        compose_whole(*overrides)
    with pytest.raises(HydraException) as staged:
        compose(*overrides)
    assert type(staged.value) is type(whole.value)
    assert str(staged.value) == str(whole.value)


def test_each_test_gets_its_own_copy() -> None:
    first = compose("eps=[8]")
    first.seed = 99
    assert compose("eps=[8]").seed == compose_whole("eps=[8]").seed != 99


def test_a_config_text_parsed_once_reads_as_parsed_again(tmp_path: Path) -> None:
    """``harness.parse_yaml_once``: every config file gives what PyYAML's own parse gives, the
    second time too; a changed text is parsed anew; a syntax error names its file."""
    parse = yaml.load.__wrapped__

    def text(cfg: Any) -> Any:  # unresolved: DictConfig's == resolves ${now:...} at each side
        return OmegaConf.to_container(cfg, resolve=False)

    for path in [*CONF.rglob("*.yaml"), *EXPERIMENTS.glob("*.yaml")]:
        own = OmegaConf.create(parse(path.read_text(), Loader=get_yaml_loader()) or {})
        assert text(OmegaConf.load(path)) == text(OmegaConf.load(path)) == text(own), path
    changed = tmp_path / "changed.yaml"
    changed.write_text("x: 1")
    assert OmegaConf.load(changed).x == 1
    changed.write_text("x: 2")
    assert OmegaConf.load(changed).x == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1")
    with pytest.raises(yaml.YAMLError, match='in ".*bad.yaml", line 1'):
        OmegaConf.load(bad)


def test_a_wandb_record_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    """W&B's service writes a run's file after ``finish()`` returns, so the harness reads it
    until its exit record is there: a read that met the last record half written parsed the
    half and failed the test (protobuf: 'Wire format was corrupt'), on a busy CI machine."""
    pytest.importorskip("wandb")
    from wandb.proto import wandb_internal_pb2

    def framed(record: bytes) -> bytes:
        return struct.pack("<IHB", 0, len(record), FULL) + record

    whole = wandb_internal_pb2.Record(num=1).SerializeToString()
    late = wandb_internal_pb2.Record(num=2, uuid="x" * 40).SerializeToString()
    file = tmp_path / "run.wandb"
    file.write_bytes(b":W&B" + bytes(HEADER - 4) + framed(whole) + framed(late)[:-10])
    assert [r.num for r in wandb_records(file)] == [1]
    file.write_bytes(b":W&B" + bytes(HEADER - 4) + framed(whole) + framed(late))
    assert [r.num for r in wandb_records(file)] == [1, 2]
    assert BLOCK > len(file.read_bytes())  # one block: no padding read
