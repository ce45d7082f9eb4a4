"""Reading and checking the admin key."""

import pytest

from services.common.errors import Forbidden, Unauthorized
from services.common.http.admin import check_admin, presented_key, service_headers
from services.common.settings import Settings


def test_the_key_comes_from_x_admin_key_or_a_bearer_token() -> None:
    assert presented_key([(b"x-admin-key", b" k1 ")]) == "k1"
    assert presented_key([(b"authorization", b"Bearer k2")]) == "k2"
    assert presented_key([(b"authorization", b"bearer  k3 ")]) == "k3"
    assert presented_key([(b"authorization", b"Basic abc")]) is None
    assert presented_key([(b"authorization", b"Bearer k2"), (b"x-admin-key", b"k1")]) == "k1"
    assert presented_key([]) is None


def test_missing_is_401_wrong_is_403_right_passes() -> None:
    with pytest.raises(Unauthorized) as missing:
        check_admin(None, "s3cret")
    assert missing.value.status == 401 and missing.value.headers["www-authenticate"] == "Bearer"
    with pytest.raises(Forbidden) as wrong:
        check_admin("s3cre", "s3cret")
    assert wrong.value.status == 403 and "s3cret" not in wrong.value.message
    check_admin("s3cret", "s3cret")
    check_admin(None, "")  # no admin key configured: open


def test_services_send_the_key_only_when_there_is_one() -> None:
    assert service_headers(Settings(admin_key="k")) == {"authorization": "Bearer k"}
    assert service_headers(Settings(admin_key="")) == {}
    assert "adm-zq9" not in repr(Settings(admin_key="adm-zq9"))  # a SecretStr: never in a repr or a log
