"""Who is calling: keys from the directory, revoked/expired/unknown, models allowed."""

import hashlib

import pytest

from services.common.errors import Forbidden, Unauthorized
from services.gateway.auth.directory import KeyDirectory
from services.gateway.auth.identify import authorize_model, identify

NOW = 1_800_000_000_000_000


def directory(**overrides) -> KeyDirectory:
    key = {"key_id": "key_a", "secret_hash": hashlib.sha256(b"tw-a").hexdigest(), "user": "ann",
           "team": "ml", "org": "acme", "models": ["gpt-4"], "limits": [], "expires_at": None,
           "revoked": False}
    key.update(overrides)
    return KeyDirectory.from_snapshot({"version": 1, "keys": [key]})


def who(presented, keys=None, *, require=False):
    return identify(presented, keys or directory(), admin_key="adm", require_keys=require, now_us=NOW)


def test_a_known_key_is_its_tenant_on_the_receipt() -> None:
    identity = who("tw-a")
    assert identity is not None and identity.key_id == "key_a"
    assert identity.receipt_fields() == {"key_id": "key_a", "user": "ann", "team": "ml", "org": "acme"}
    assert "tw-a" not in repr(identity)


def test_revoked_and_expired_keys_are_refused_even_when_keys_are_optional() -> None:
    with pytest.raises(Unauthorized, match="revoked"):
        who("tw-a", directory(revoked=True))
    with pytest.raises(Unauthorized, match="expired"):
        who("tw-a", directory(expires_at="2027-01-15T08:00:00Z"))
    assert who("tw-a", directory(expires_at="2027-01-15T08:00:01Z")) is not None  # NOW is 08:00:00


def test_unknown_or_missing_keys_are_anonymous_unless_keys_are_required() -> None:
    assert who("sk-whatever") is None and who(None) is None
    with pytest.raises(Unauthorized, match="unknown key"):
        who("sk-whatever", require=True)
    with pytest.raises(Unauthorized, match="needs a key"):
        who(None, require=True)
    admin = who("adm", require=True)
    assert admin is not None and admin.key is None and admin.receipt_fields() == {}


def test_a_key_may_ask_only_for_its_models() -> None:
    identity = who("tw-a")
    authorize_model(identity, "gpt-4")
    with pytest.raises(Forbidden) as refused:
        authorize_model(identity, "gpt-5")
    assert refused.value.status == 403 and "gpt-5" in refused.value.message and refused.value.field == "model"
    authorize_model(who("tw-a", directory(models=None)), "anything")
    authorize_model(None, "anything")
