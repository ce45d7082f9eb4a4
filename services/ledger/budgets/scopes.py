"""Which budgets a receipt's cost counts against: its run's, key's, user's, team's, org's,
provider's, model's, and the global one (all spend)."""

from __future__ import annotations

from services.ledger.budgets.model import GLOBAL, GLOBAL_ID, RUN, BudgetKey
from services.ledger.receipts.parse import Receipt


def scope_ids(receipt: Receipt) -> list[tuple[str, str]]:
    """(scope, scope_id) of each budget the receipt counts against, in scopes_of's order."""
    pairs = [(RUN, receipt.run_id)]
    for scope, scope_id in (("key", receipt.key_id), ("user", receipt.user), ("team", receipt.team),
                            ("org", receipt.org), ("provider", receipt.provider), ("model", receipt.model)):
        if scope_id:
            pairs.append((scope, scope_id))
    pairs.append((GLOBAL, GLOBAL_ID))
    return pairs


def scopes_of(receipt: Receipt) -> list[BudgetKey]:
    return [BudgetKey(scope, scope_id) for scope, scope_id in scope_ids(receipt)]
