"""Issue 9, item 3: YAML 1.1 changed values in policy files (``no`` -> false, ``010`` -> 8)."""

from __future__ import annotations

import re

import pytest

from delegation import InvalidPolicy
from delegation.policy.rules import RulesPolicy

POLICY = """\
version: 1
rules:
  - id: no-norway
    effect: deny
    when:
      labels: {{region: [{value}]}}
"""


#: Booleans, octal/hex/underscored/sexagesimal numbers, special floats, nulls, dates.
AMBIGUOUS = "no No NO yes on Off True 010 0x1F 1_000 1:30 12:30:00 .inf .NaN 1.5_0 ~ Null NULL"


@pytest.mark.parametrize("value", [*AMBIGUOUS.split(), "2026-01-01"])
def test_yaml_ambiguous_scalars_refused(value: str) -> None:
    """Each unquoted ambiguous scalar is refused naming file, line and field, saying to quote it."""
    with pytest.raises(InvalidPolicy) as ei:
        RulesPolicy.from_text(POLICY.format(value=value), source="policy.yaml")
    message = str(ei.value)
    assert ei.value.code == "invalid_policy"
    assert message.startswith("policy.yaml:6: rules[0].when.labels.region[0]: "), message
    assert re.search(r"quote it", message)
    # Quoted, the same value is the string it looks like; JSON spellings stay plain.
    quoted = RulesPolicy.from_text(POLICY.format(value=f'"{value}"'), source="policy.yaml")
    assert quoted.document.rules[0].when.labels == {"region": [value]}
    plain = RulesPolicy.from_text(POLICY.format(value="true, 10, -1.5, 0, eu"))
    assert plain.document.rules[0].when.labels == {"region": [True, 10, -1.5, 0, "eu"]}
