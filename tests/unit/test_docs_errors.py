"""docs/errors.md quotes a refusal as the check writes it: a method argument that a job sets
from elsewhere (a universal attack's fitted state, EOT's draws, GSAttack's recordings) was
quoted as ``unknown key 'method.event_patch_universal.fitted'``, a line no check writes."""

import re

import pytest
from harness import ROOT

from snnattack.attacks.methods.base import METHODS
from snnattack.errors import ConfigError
from snnattack.values import params_known

ROWS = (ROOT / "docs" / "errors.md").read_text()


def refusal(method: str, param: str) -> str:
    """The line a job gives for ``method.<method>.<param>=1``."""
    with pytest.raises(ConfigError) as refused:
        params_known(f"method.{method}", {param: 1}, METHODS[method].make, skip=2)
    return str(refused.value)


def test_a_universal_attacks_fitted_state_is_refused_as_its_row_quotes_it() -> None:
    said = refusal("event_patch_universal", "fitted")
    assert said.split("; accepted: area, placement")[0] in ROWS


@pytest.mark.parametrize(
    ("method", "param"),
    [("event_patch_universal", "fitted"), ("pgd", "eot_samples"), ("gsattack", "recordings")],
)
def test_where_an_argument_set_elsewhere_is_set_is_in_the_errors_page(
    method: str, param: str
) -> None:
    (where,) = re.findall(r"\(set by [^)]*\)", refusal(method, param))
    assert where in ROWS
