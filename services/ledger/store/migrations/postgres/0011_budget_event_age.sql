-- Retention deletes periodic budgets' threshold events by the start of their period
-- (period_start_us < cutoff, one-off budgets' 0 kept) across every budget: an index on the period
-- start, so the delete reads only the old periods' events.

CREATE INDEX budget_events_by_period_start ON budget_events (period_start_us);
