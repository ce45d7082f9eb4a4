"""Which budgets a receipt's cost counts against: its run's, and its key's, team's and org's."""

from __future__ import annotations

from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.parse import Receipt


def scopes_of(receipt: Receipt) -> list[BudgetKey]:
    keys = [BudgetKey.run(receipt.run_id)]
    for scope, scope_id in (("key", receipt.key_id), ("team", receipt.team), ("org", receipt.org)):
        if scope_id:
            keys.append(BudgetKey(scope, scope_id))
    return keys
