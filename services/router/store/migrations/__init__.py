"""The router's versioned schema migrations, applied by the one runner of every service
(services/common/migrations.py). On PostgreSQL one sequence (`postgres/`, recorded in
`router_schema_version`) for all the router's tables; on SQLite one sequence per file
(`sqlite/registry`, `sqlite/routing`, `sqlite/outcomes`, each recorded in its file's
`schema_version`): the three files of release 0.1 upgrade in place."""

from __future__ import annotations

from pathlib import Path

from services.common.migrations import MigrationSet

HERE = Path(__file__).parent
PG_LOCK = 0x726F7574  # 'rout': routers starting together apply a migration once
POSTGRES = MigrationSet(HERE / "postgres", "router_schema_version", "router", "router", PG_LOCK)
SQLITE = {name: MigrationSet(HERE / "sqlite" / name, "schema_version", "router", f"router {name}")
          for name in ("registry", "routing", "outcomes")}
