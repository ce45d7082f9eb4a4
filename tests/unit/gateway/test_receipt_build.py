from datetime import UTC, datetime
from decimal import Decimal

import jsonschema
import orjson

from services.common import contracts, jsonio
from services.common.registry.provider import provider_from_registration
from services.gateway.adapters.base import Usage
from services.gateway.receipts.build import Attempt, RequestFacts, build_receipt

NOW = datetime(2026, 11, 23, 10, 30, 0, 123000, tzinfo=UTC)
GPT4 = provider_from_registration(
    {"name": "my-gpt4", "model": "gpt-4", "context_window": 8192, "cost_per_input_token": 0.00003,
     "cost_per_output_token": 0.00006, "endpoint": "http://localhost:8100"}, NOW)


def facts(*attempts):
    return RequestFacts("req-1", "R-001", "agent-1", "cost", "cheapest", attempts=list(attempts))


def test_costs_are_exact_and_total_is_the_sum_of_parts():
    r = build_receipt(facts(Attempt("my-gpt4", "success", 12.0, 200)), GPT4, status="success", http_status=200,
                      latency_ms=12.3456, timestamp=NOW, usage=Usage(input_tokens=500, output_tokens=200))
    assert r["input_cost_usd"] == Decimal("0.015000")
    assert r["output_cost_usd"] == Decimal("0.012000")
    assert r["cost_usd"] == Decimal("0.027000")
    assert r["prices"] == {"input_per_mtok": Decimal("30"), "output_per_mtok": Decimal("60")}
    assert r["timestamp"] == "2026-11-23T10:30:00.123Z"
    assert r["fallback"] is False


def test_receipt_line_has_six_decimals_and_matches_the_contract():
    r = build_receipt(facts(Attempt("down", "error", 1.0, None, "cannot connect"),
                            Attempt("my-gpt4", "success", 12.0, 200)),
                      GPT4, status="success", http_status=200, latency_ms=5, timestamp=NOW,
                      usage=Usage(input_tokens=7, output_tokens=3))
    line = jsonio.dumps_line(r)
    assert b'"cost_usd":0.000390' in line
    assert line.endswith(b"\n")
    jsonschema.validate(orjson.loads(line), contracts.schema("routing_receipt"))
    assert r["fallback"] is True
    assert [a["provider"] for a in r["attempts"]] == ["down", "my-gpt4"]


def test_failed_requests_cost_nothing():
    r = build_receipt(facts(), GPT4, status="error", http_status=502, latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=0, output_tokens=0))
    assert r["cost_usd"] == Decimal("0")


CLAUDE = provider_from_registration(
    {"name": "claude", "model": "claude-sonnet", "context_window": 200_000, "api_format": "anthropic",
     "input_per_mtok": "3", "output_per_mtok": "15", "cache_read_per_mtok": "0.30", "cache_write_per_mtok": "3.75",
     "endpoint": "http://localhost:8100"}, NOW)


def test_cache_reads_and_writes_are_charged_at_the_cache_prices():
    r = build_receipt(facts(Attempt("claude", "success", 12.0, 200)), CLAUDE, status="success", http_status=200,
                      latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=1_000_000, output_tokens=1000, cache_read_input_tokens=800_000,
                                  cache_creation_input_tokens=100_000))
    # 100,000 x $3 + 800,000 x $0.30 + 100,000 x $3.75 per Mtok; 1,000 x $15 per Mtok out
    assert r["input_cost_usd"] == Decimal("0.915000")
    assert r["output_cost_usd"] == Decimal("0.015000")
    assert r["cost_usd"] == Decimal("0.930000") == r["input_cost_usd"] + r["output_cost_usd"]
    assert r["prices"] == {"input_per_mtok": Decimal("3"), "output_per_mtok": Decimal("15"),
                           "cache_read_per_mtok": Decimal("0.3"), "cache_write_per_mtok": Decimal("3.75")}
    assert (r["cache_read_input_tokens"], r["cache_creation_input_tokens"]) == (800_000, 100_000)
    line = jsonio.dumps_line(r)
    assert b'"cache_read_per_mtok":0.3,' in line and b'"input_cost_usd":0.915000,' in line
    jsonschema.validate(orjson.loads(line), contracts.schema("routing_receipt"))


def test_a_provider_without_cache_prices_charges_cached_tokens_as_input():
    r = build_receipt(facts(), GPT4, status="success", http_status=200, latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=500, output_tokens=200, cache_read_input_tokens=400))
    assert r["input_cost_usd"] == Decimal("0.015000")  # 500 x $30 per Mtok, as without a cache
    assert r["prices"] == {"input_per_mtok": Decimal("30"), "output_per_mtok": Decimal("60")}
    assert r["cache_read_input_tokens"] == 400


def test_cache_counts_beyond_the_input_tokens_are_capped_on_the_receipt_and_its_cost():
    r = build_receipt(facts(), CLAUDE, status="success", http_status=200, latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=100, output_tokens=0, cache_read_input_tokens=80,
                                  cache_creation_input_tokens=50))
    assert (r["cache_read_input_tokens"], r["cache_creation_input_tokens"]) == (80, 20)
    assert r["input_cost_usd"] == Decimal("0.000099")  # 80 x 0.3e-6 + 20 x 3.75e-6 = 0.000024 + 0.000075


CLAUDE_1H = provider_from_registration(
    {"name": "claude-1h", "model": "claude-sonnet", "context_window": 200_000, "api_format": "anthropic",
     "input_per_mtok": "3", "output_per_mtok": "15", "cache_read_per_mtok": "0.30", "cache_write_per_mtok": "3.75",
     "cache_write_1h_per_mtok": "6", "endpoint": "http://localhost:8100"}, NOW)


def test_one_hour_writes_are_charged_at_the_one_hour_price_and_shown():
    r = build_receipt(facts(Attempt("claude-1h", "success", 12.0, 200)), CLAUDE_1H, status="success",
                      http_status=200, latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=1_000_000, output_tokens=1000, cache_read_input_tokens=700_000,
                                  cache_creation_input_tokens=200_000, cache_creation_1h_input_tokens=50_000))
    # 100,000 x $3 + 700,000 x $0.30 + 150,000 x $3.75 + 50,000 x $6 per Mtok; 1,000 x $15 per Mtok out
    assert r["input_cost_usd"] == Decimal("1.372500")
    assert r["cost_usd"] == Decimal("1.387500") == r["input_cost_usd"] + r["output_cost_usd"]
    assert r["prices"] == {"input_per_mtok": Decimal("3"), "output_per_mtok": Decimal("15"),
                           "cache_read_per_mtok": Decimal("0.3"), "cache_write_per_mtok": Decimal("3.75"),
                           "cache_write_1h_per_mtok": Decimal("6")}
    assert (r["cache_read_input_tokens"], r["cache_creation_input_tokens"], r["cache_creation_1h_input_tokens"]) \
        == (700_000, 200_000, 50_000)
    line = jsonio.dumps_line(r)
    assert b'"cache_write_1h_per_mtok":6' in line and b'"cache_creation_1h_input_tokens":50000' in line
    jsonschema.validate(orjson.loads(line), contracts.schema("routing_receipt"))


def test_one_hour_writes_without_a_one_hour_price_cost_the_write_price():
    r = build_receipt(facts(), CLAUDE, status="success", http_status=200, latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=1_000_000, output_tokens=0, cache_read_input_tokens=700_000,
                                  cache_creation_input_tokens=200_000, cache_creation_1h_input_tokens=50_000))
    assert r["input_cost_usd"] == Decimal("1.260000")  # 0.30 + 0.21 + 200,000 x $3.75
    assert r["cache_creation_1h_input_tokens"] == 50_000  # the count is shown even without its own price
    assert "cache_write_1h_per_mtok" not in r["prices"]
    plain = build_receipt(facts(), CLAUDE_1H, status="success", http_status=200, latency_ms=1, timestamp=NOW,
                          usage=Usage(input_tokens=10, output_tokens=0))
    assert "cache_creation_1h_input_tokens" not in plain and plain["input_cost_usd"] == Decimal("0.000030")


def test_one_hour_writes_beyond_the_writes_are_capped_on_the_receipt_and_its_cost():
    r = build_receipt(facts(), CLAUDE_1H, status="success", http_status=200, latency_ms=1, timestamp=NOW,
                      usage=Usage(input_tokens=100, output_tokens=0, cache_read_input_tokens=80,
                                  cache_creation_input_tokens=50, cache_creation_1h_input_tokens=70))
    assert (r["cache_read_input_tokens"], r["cache_creation_input_tokens"], r["cache_creation_1h_input_tokens"]) \
        == (80, 20, 20)
    assert r["input_cost_usd"] == Decimal("0.000144")  # 80 x 0.3e-6 + 20 x 6e-6 = 0.000024 + 0.00012


def test_every_receipt_carries_its_amounts_as_exact_integer_micros():
    r = build_receipt(facts(Attempt("my-gpt4", "success", 12.0, 200)), GPT4, status="success", http_status=200,
                      latency_ms=1, timestamp=NOW, usage=Usage(input_tokens=500, output_tokens=200))
    assert (r["input_cost_micros"], r["output_cost_micros"], r["cost_micros"]) == (15_000, 12_000, 27_000)
    jsonschema.validate(orjson.loads(jsonio.dumps_line(r)), contracts.schema("routing_receipt"))
    failed = build_receipt(facts(), GPT4, status="error", http_status=502, latency_ms=1, timestamp=NOW,
                           usage=Usage(input_tokens=9, output_tokens=0))
    assert (failed["input_cost_micros"], failed["output_cost_micros"], failed["cost_micros"]) == (0, 0, 0)
