"""HTTP routes of the ledger, one module per resource; `app.py` only wires them."""
