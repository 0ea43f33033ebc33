"""National IDs' pseudonyms: keyed, stable, compared in constant time; the key from settings,
one platform-wide variable for identity and profile, the repo's dev key refused outside
dev/test."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sanad.shared.pseudonym import DEV_PSEUDONYM_KEY, Pseudonyms

KEY = "k" * 32
NID = "1000000008"


def test_the_same_id_under_the_same_key_gives_the_same_pseudonym() -> None:
    pseudonym = Pseudonyms(KEY).of(NID)
    assert pseudonym == Pseudonyms(KEY).of(f" {NID} ")
    assert len(pseudonym) == 64 and NID not in pseudonym
    assert Pseudonyms(KEY).matches(NID, pseudonym)
    assert not Pseudonyms(KEY).matches("1000000016", pseudonym)


def test_another_key_gives_another_pseudonym_so_the_key_is_what_protects_the_id() -> None:
    import hashlib

    assert Pseudonyms(KEY).of(NID) != Pseudonyms("j" * 32).of(NID)
    # Not a plain hash, which anyone could reverse by hashing the billion possible IDs.
    assert Pseudonyms(KEY).of(NID) != hashlib.sha256(NID.encode()).hexdigest()


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        Pseudonyms("short")


def test_identity_and_profile_read_one_platform_key_and_refuse_the_dev_one_outside_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sanad.identity.settings import IdentitySettings
    from sanad.profile.settings import ProfileSettings

    monkeypatch.setenv("SANAD_ENV", "test")
    assert IdentitySettings().pseudonyms.of(NID) == Pseudonyms(DEV_PSEUDONYM_KEY).of(NID)
    monkeypatch.setenv("SANAD_PSEUDONYM_KEY", KEY)
    assert IdentitySettings().pseudonyms.of(NID) == ProfileSettings().pseudonyms.of(NID)
    assert ProfileSettings().pseudonyms.of(NID) == Pseudonyms(KEY).of(NID)

    monkeypatch.setenv("SANAD_ENV", "prod")
    monkeypatch.setenv("SANAD_PROFILE_DB_PASSWORD", "a-real-password-7f3a")
    monkeypatch.setenv("SANAD_PROFILE_KAFKA_PASSWORD", "a-real-kafka-secret-7f3a")
    monkeypatch.delenv("SANAD_PSEUDONYM_KEY")
    with pytest.raises(ValidationError, match="SANAD_PROFILE_PSEUDONYM_KEY"):
        ProfileSettings()
    monkeypatch.setenv("SANAD_PSEUDONYM_KEY", DEV_PSEUDONYM_KEY)  # pasted without its marker
    with pytest.raises(ValidationError, match="SANAD_PROFILE_PSEUDONYM_KEY"):
        ProfileSettings()
    monkeypatch.setenv("SANAD_PSEUDONYM_KEY", KEY)
    assert ProfileSettings().pseudonyms.of(NID) == Pseudonyms(KEY).of(NID)
