"""Who is reading: the admin (everything), a virtual key (its tenant only), or nobody.

Without a key, reads are open unless TOLLWAY_REQUIRE_KEYS is set. A key the ledger does not know,
or a revoked or expired one, is refused with 401 whatever the setting: a caller who sends a key
means to be that key.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from services.common.errors import Unauthorized
from services.common.http.admin import is_admin, presented_key
from services.common.virtual_keys import hash_secret, refuse_unusable
from services.ledger.context import ledger
from services.ledger.keys.model import VirtualKey


@dataclass(frozen=True)
class Reader:
    admin: bool = False
    key: VirtualKey | None = None

    @property
    def tenant(self) -> str | None:
        """None: may read everything; else 'org:<org>' or 'key:<key_id>'."""
        if self.key is None:
            return None
        scope, scope_id = self.key.tenant
        return f"{scope}:{scope_id}"


async def reader(request: Request) -> Reader:
    ctx = ledger(request)
    presented = presented_key(request.scope["headers"])
    admin_key = ctx.settings.admin_key.get_secret_value()
    if presented is not None and is_admin(presented, admin_key):
        return Reader(admin=True)
    if presented is None:
        if ctx.settings.require_keys:
            raise Unauthorized("this ledger needs a key: send Authorization: Bearer <virtual key>")
        return Reader()
    key = await ctx.store.key_by_hash(hash_secret(presented))
    if key is None:
        if ctx.settings.require_keys or admin_key:
            raise Unauthorized("unknown key")
        return Reader()
    if key.problem is not None:
        raise Unauthorized(f"key {key.key_id} cannot be used: it is stored in a form this ledger cannot read")
    refuse_unusable(key.key_id, revoked=key.revoked_us is not None, expires_us=key.expires_us, now_us=ctx.now_us())
    return Reader(key=key)
