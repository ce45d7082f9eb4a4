"""Which budgets a receipt's cost counts against. Today: its run's; later also key/team/org."""

from __future__ import annotations

from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.parse import Receipt


def scopes_of(receipt: Receipt) -> list[BudgetKey]:
    return [BudgetKey.run(receipt.run_id)]
