"""The policy pack over expanded upstream objects: findings apart, each explained; mlplane's own stay clean."""

from __future__ import annotations

import pytest

from mlplane.policy.offline import plan_violations
from mlplane.policy.upstream import UPSTREAM_EXCEPTIONS, upstream_findings

from .expansion import RELEASES, expanded, needs_upstream

pytestmark = [needs_upstream, pytest.mark.usefixtures("expansion_scratch")]


@pytest.mark.parametrize("release", RELEASES)
def test_mlplane_own_objects_stay_violation_free_with_expansion_on(release: str) -> None:
    violations = plan_violations(expanded(release).plan)
    assert violations == [], "\n".join(f"{v.policy}: {v.urn}: {v.message}" for v in violations)


@pytest.mark.parametrize("release", RELEASES)
def test_every_upstream_finding_is_a_known_exception(release: str) -> None:
    findings = upstream_findings(expanded(release).plan)
    assert findings, "the rules found nothing upstream: are they running over the expanded objects?"
    unexplained = sorted({f"{f.source} {f.violation.policy}: {f.violation.message}" for f in findings
                          if f.exception is None})
    assert unexplained == []


def test_no_upstream_exception_is_stale() -> None:
    used = {f.exception for release in RELEASES for f in upstream_findings(expanded(release).plan) if f.exception}
    assert [e for e in UPSTREAM_EXCEPTIONS if e not in used] == []
