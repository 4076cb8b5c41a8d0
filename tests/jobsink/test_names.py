"""Job names: deterministic, unambiguous, strong, and a DNS-1123 label for every legal sink name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsink.names import MAX_JOB_NAME, event_hash, job_name, selector

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Legal JobSink names: DNS-1123 subdomains, up to 253 characters.
SINK_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)
SINK_NAMES = (
    st.lists(SINK_LABEL, min_size=1, max_size=8).map(".".join).filter(lambda s: len(s) <= 253)
)


def test_seed_name_is_stable() -> None:
    """A changed name would re-run every already-processed event after an upgrade."""
    assert job_name("job-sink-logger", "my/curl/command", "123") == (
        "job-sink-logger-c7rsxdsek7r6chihxalmkh7qzc"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("s", "ab", "c"), ("s", "a", "bc"), id="source-id-boundary"),
        pytest.param(("s", "a", ""), ("s", "", "a"), id="empty-parts"),
        pytest.param(("s-a", "b", "c"), ("s", "a-b", "c"), id="sink-source-boundary"),
        pytest.param(("s", 'a","b', "c"), ("s", "a", 'b","c'), id="json-quoting"),
    ],
)
def test_concatenation_equal_pairs_get_different_names(
    first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    assert job_name(*first) != job_name(*second)


def test_long_sinks_sharing_a_prefix_do_not_collide() -> None:
    prefix = "a" * 40
    assert job_name(prefix + "-one", "s", "i") != job_name(prefix + "-two", "s", "i")
    assert job_name(prefix + "-one", "s", "i").startswith("a" * 25 + "-")


@pytest.mark.parametrize(
    ("sink", "expected_prefix"),
    [
        pytest.param("a.b.c", "a-b-c-", id="dots-become-dashes"),
        pytest.param("a" * 24 + "-b", "a" * 24 + "-", id="no-trailing-dash-after-cut"),
        pytest.param("x" * 253, "x" * 25 + "-", id="longest-subdomain"),
    ],
)
def test_prefix(sink: str, expected_prefix: str) -> None:
    name = job_name(sink, "src", "id")
    assert name.startswith(expected_prefix)
    assert "--" not in name


@given(sink=SINK_NAMES, source=st.text(), id=st.text())
def test_every_legal_sink_gives_a_short_dns_label(sink: str, source: str, id: str) -> None:
    name = job_name(sink, source, id)
    assert DNS1123_LABEL.fullmatch(name)
    assert len(name) <= MAX_JOB_NAME
    # an Indexed Job's largest pod hostname is still a DNS-1123 label
    assert len(f"{name}-{2**31 - 2}") <= 63
    assert job_name(sink, source, id) == name


@given(st.text(), st.text(), st.text(), st.text())
def test_different_events_different_hashes(source: str, id: str, other: str, other_id: str) -> None:
    if (source, id) != (other, other_id):
        assert event_hash("s", source, id) != event_hash("s", other, other_id)


def test_hash_keeps_130_bits_in_base32() -> None:
    digest = event_hash("s", "src", "id")
    assert re.fullmatch(r"[a-z2-7]{26}", digest)


def test_selector() -> None:
    assert selector("logger") == "sinks.knative.dev/job-sink-name=logger"


@given(st.text(), st.text(), st.text())
def test_hash_is_base32_of_the_digest_cut_to_130_bits(sink: str, source: str, id: str) -> None:
    """``event_hash`` spells the digest ten bits at a time; the reference is the standard
    library's base32 of the whole digest (lone surrogates included: they are hashed as
    ``surrogatepass`` UTF-8)."""
    import base64
    import hashlib
    import json

    encoded = json.dumps([sink, source, id], ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).digest()
    assert event_hash(sink, source, id) == base64.b32encode(digest).decode().lower()[:26]
