"""Which budgets a receipt's cost counts against: its run's, key's, user's, team's, org's,
provider's, model's, and the global one (all spend)."""

from __future__ import annotations

from services.ledger.budgets.model import GLOBAL, GLOBAL_ID, BudgetKey
from services.ledger.receipts.parse import Receipt


def scopes_of(receipt: Receipt) -> list[BudgetKey]:
    keys = [BudgetKey.run(receipt.run_id)]
    for scope, scope_id in (("key", receipt.key_id), ("user", receipt.user), ("team", receipt.team),
                            ("org", receipt.org), ("provider", receipt.provider), ("model", receipt.model)):
        if scope_id:
            keys.append(BudgetKey(scope, scope_id))
    keys.append(BudgetKey(GLOBAL, GLOBAL_ID))
    return keys
