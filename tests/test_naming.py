"""The naming helper: every name it makes is a valid, stable, distinct Kubernetes name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlplane.core.naming import check_dns_label, dns_subdomain, is_dns_label, is_dns_subdomain, k8s_name

parts = st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=4).filter(
    lambda ps: any(any(c.isascii() and c.isalnum() for c in p) for p in ps)
)


@given(parts, st.integers(min_value=10, max_value=63))
def test_k8s_name_is_always_a_valid_label_within_the_limit(name_parts: list[str], limit: int) -> None:
    name = k8s_name(*name_parts, max_length=limit)
    assert is_dns_label(name, limit), name


@given(parts)
def test_k8s_name_is_deterministic(name_parts: list[str]) -> None:
    assert k8s_name(*name_parts) == k8s_name(*name_parts)


@given(st.text(alphabet="abcdefghij", min_size=64, max_size=200), st.text(alphabet="abcdefghij", min_size=64, max_size=200))
def test_long_names_that_differ_stay_distinct(a: str, b: str) -> None:
    if a != b:
        assert k8s_name(a) != k8s_name(b)


def test_short_names_are_kept_readable() -> None:
    assert k8s_name("mnist", "train") == "mnist-train"
    assert k8s_name("MNIST_Pipeline", "Web UI") == "mnist-pipeline-web-ui"


def test_long_names_are_cut_with_a_hash() -> None:
    name = k8s_name("x" * 100)
    assert len(name) == 63
    assert name.startswith("x" * 54 + "-")


def test_unusable_parts_are_rejected() -> None:
    with pytest.raises(ValueError, match="cannot make a Kubernetes name"):
        k8s_name("---", "__")


@given(parts)
def test_dns_subdomain_is_valid(name_parts: list[str]) -> None:
    assert is_dns_subdomain(dns_subdomain(*name_parts))


@pytest.mark.parametrize("bad", ["", "Upper", "-lead", "trail-", "a" * 64, "dot.ted"])
def test_check_dns_label_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="DNS-1123 label"):
        check_dns_label(bad)
