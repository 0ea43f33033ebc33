"""National IDs' pseudonyms: keyed, stable, compared in constant time; the key from settings,
one platform-wide variable for identity and profile, the repo's dev key refused outside
dev/test; keys with ids, so the key can be rotated (the current key and the previous ones)."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr, ValidationError

from sanad.shared.pseudonym import (
    DEV_PSEUDONYM_KEY,
    ORIGINAL_KEY_ID,
    PseudonymKey,
    PseudonymKeyError,
    Pseudonyms,
    parse_previous_keys,
)

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


# Rotation: keys with ids, the current one and the previous ones.

OLD, NEW = "o" * 32, "n" * 40


def test_a_ring_makes_new_pseudonyms_under_the_current_key_and_matches_under_every_key() -> None:
    ring = Pseudonyms(NEW, "k1", [PseudonymKey(OLD, "k0")])
    assert (ring.key_id, ring.previous_ids) == ("k1", ("k0",))
    assert ring.of(NID) == Pseudonyms(NEW).of(NID) != Pseudonyms(OLD).of(NID)
    assert ring.under("k0", NID) == Pseudonyms(OLD).of(NID)
    assert ring.every(NID) == {"k1": ring.of(NID), "k0": Pseudonyms(OLD).of(NID)}
    # Mid-rotation a pseudonym under either key is the ID's; under a key not held it is not.
    assert ring.matches(NID, Pseudonyms(OLD).of(NID)) and ring.matches(NID, ring.of(NID))
    assert not ring.matches(NID, Pseudonyms("x" * 32).of(NID))
    assert not ring.matches("1000000016", Pseudonyms(OLD).of(NID))
    assert ring.holds("k0") and not ring.holds("k2")
    with pytest.raises(KeyError):
        ring.under("k2", NID)


def test_the_original_key_is_k0_so_events_without_an_id_resolve_under_it() -> None:
    assert ORIGINAL_KEY_ID == "k0"
    assert Pseudonyms(OLD).key_id == ORIGINAL_KEY_ID


@pytest.mark.parametrize(
    ("current_id", "previous", "message"),
    [
        ("k1", "k1:" + OLD, "'k1' is given twice"),
        ("k1", f"k0:{OLD},k0:{'p' * 32}", "'k0' is given twice"),
        ("k1", f"k0:{NEW}", "the same key as another id's"),
        ("k1", "k0:short", "'k0': a key has at least 32"),
        ("k1", OLD, "entry 1 is not 'id:key'"),
        ("k1", f"k0:{OLD},{'p' * 32}", "entry 2 is not 'id:key'"),
        ("k1", f"bad id:{OLD}", "key id 'bad id'"),
        ("k1", f":{OLD}", "key id ''"),
        ("k1", f"{'x' * 33}:{OLD}", "1 to 32"),
        ("-k1", "", "key id '-k1'"),
        ("k,1", "", "key id 'k,1'"),
    ],
)
def test_bad_key_settings_are_refused_naming_the_id_never_the_key(
    current_id: str, previous: str, message: str
) -> None:
    with pytest.raises(PseudonymKeyError, match=re.escape(message)) as refused:
        Pseudonyms.from_settings(SecretStr(NEW), current_id, SecretStr(previous), allow_dev=True)
    assert OLD not in str(refused.value) and NEW not in str(refused.value)


def test_a_short_current_key_is_refused() -> None:
    with pytest.raises(PseudonymKeyError, match="'k1': a key has at least 32"):
        Pseudonyms.from_settings(SecretStr("short"), "k1", None, allow_dev=True)


def test_previous_keys_parse_with_blanks_and_empty_entries() -> None:
    assert parse_previous_keys(f" k0:{OLD} , ,2026-12.a:{'p' * 32},") == [
        ("k0", OLD),
        ("2026-12.a", "p" * 32),
    ]
    assert parse_previous_keys("") == []


def test_rotation_settings_in_both_services_and_the_dev_key_refused_as_a_previous_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sanad.identity.settings import IdentitySettings
    from sanad.profile.settings import ProfileSettings

    monkeypatch.setenv("SANAD_ENV", "test")
    monkeypatch.setenv("SANAD_PSEUDONYM_KEY", NEW)
    monkeypatch.setenv("SANAD_PSEUDONYM_KEY_ID", "k1")
    monkeypatch.setenv("SANAD_PSEUDONYM_PREVIOUS_KEYS", f"k0:{DEV_PSEUDONYM_KEY}")
    identity, profile = IdentitySettings().pseudonyms, ProfileSettings().pseudonyms
    assert identity.every(NID) == profile.every(NID)
    assert identity.key_id == "k1" and identity.previous_ids == ("k0",)
    assert profile.under("k0", NID) == Pseudonyms(DEV_PSEUDONYM_KEY).of(NID)
    # The per-service variable wins over the platform-wide one.
    monkeypatch.setenv("SANAD_PROFILE_PSEUDONYM_KEY_ID", "k9")
    assert ProfileSettings().pseudonyms.key_id == "k9"
    monkeypatch.delenv("SANAD_PROFILE_PSEUDONYM_KEY_ID")
    # Bad ids stop the service at start-up.
    monkeypatch.setenv("SANAD_PSEUDONYM_PREVIOUS_KEYS", f"k1:{OLD}")
    with pytest.raises(ValidationError, match="'k1' is given twice"):
        ProfileSettings()

    monkeypatch.setenv("SANAD_ENV", "prod")
    monkeypatch.setenv("SANAD_PROFILE_DB_PASSWORD", "a-real-password-7f3a")
    monkeypatch.setenv("SANAD_PROFILE_KAFKA_PASSWORD", "a-real-kafka-secret-7f3a")
    monkeypatch.setenv("SANAD_PSEUDONYM_PREVIOUS_KEYS", f"k0:{DEV_PSEUDONYM_KEY}")
    with pytest.raises(ValidationError, match="'k0': the repo's dev key"):
        ProfileSettings()
    monkeypatch.setenv("SANAD_PSEUDONYM_PREVIOUS_KEYS", f"k0:{OLD}")
    assert ProfileSettings().pseudonyms.every(NID) == {
        "k1": Pseudonyms(NEW).of(NID),
        "k0": Pseudonyms(OLD).of(NID),
    }
