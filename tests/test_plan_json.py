"""plan.json's encoder writes exactly what Python's own json module would."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplane.infra.offline.plan import json_text
from tests.conftest import STACKS, rendered

_LEAVES = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text() | st.floats(allow_nan=False,
                                                                                              allow_infinity=False)
_DOCUMENTS = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                                 max_size=4),
                          max_leaves=30)


def _reference(document: object) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plan_is_written_as_json_dumps_writes_it(stack: str) -> None:
    text = rendered(stack).to_json_text()
    assert text == _reference(json.loads(text))


def _has_float(document: object) -> bool:
    if isinstance(document, float):
        return True
    if isinstance(document, dict):
        return any(_has_float(v) for v in document.values())
    return isinstance(document, list) and any(_has_float(v) for v in document)


@given(_DOCUMENTS)
def test_any_document_is_written_as_json_dumps_writes_it(document: object) -> None:
    # The same value always; the same text except where orjson spells a float otherwise
    # (6.155935272133151e-05 as 0.00006155935272133151), which hypothesis found.
    text = json_text(document)
    assert json.loads(text) == document
    if not _has_float(document):
        assert text == _reference(document)
