"""The simulator's table: per strategy, total cost and saving against the premium baseline,
P50/P95 latency, errors, fallbacks and where the traffic went."""

from __future__ import annotations

from decimal import Decimal

from services.cli.whatif.replay import Result

HEADER = (f"{'strategy':<12} {'cost $':>11} {'vs premium':>10} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'errors':>7} {'fallbacks':>9}  top providers (share of served)")


def _saving(cost: Decimal, premium: Decimal | None) -> str:
    if not premium:
        return "-"
    return f"{(cost - premium) / premium * 100:+.1f}%"


def _top(result: Result, n: int = 3) -> str:
    served = sum(result.served_by.values())
    if not served:
        return "-"
    return ", ".join(f"{name} {count / served:.0%}" for name, count in result.served_by.most_common(n))


def table(results: list[Result]) -> str:
    premium = next((r.cost for r in results if r.strategy == "premium"), None)
    lines = [HEADER, "-" * len(HEADER)]
    for r in results:
        errors = f"{r.errors}" + (f"+{r.unroutable}u" if r.unroutable else "")
        lines.append(f"{r.strategy:<12} {r.cost:>11.4f} {_saving(r.cost, premium):>10} {r.percentile(0.5):>8.0f} "
                     f"{r.percentile(0.95):>8.0f} {errors:>7} {r.fallbacks:>9}  {_top(r)}")
    return "\n".join(lines)
