"""The KRaft cluster id the platform formats storage with."""

from __future__ import annotations

import base64
import uuid

import pytest

from sanad.platform import kafka


def test_a_cluster_id_is_a_base64_uuid_that_never_starts_like_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first uuid drawn encodes to an id beginning with '-': it must be drawn again.
    dashed = uuid.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "=="))
    plain = uuid.UUID(int=1)
    drawn = iter([dashed, plain])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(drawn))
    cluster_id = kafka.random_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).decode().rstrip("=")
    assert len(cluster_id) == 22
