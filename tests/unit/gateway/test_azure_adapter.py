"""The Azure OpenAI adapter: deployment URLs, api-version and the api-key header; OpenAI bodies."""

from datetime import UTC, datetime
from decimal import Decimal

import orjson

from services.common.registry.provider import Provider, provider_from_registration
from services.gateway.adapters.azure import DEFAULT_API_VERSION, AzureAdapter
from services.gateway.adapters.registry import adapter_for

Z = AzureAdapter()


def provider(**extra) -> Provider:
    return Provider(name="az", model="my-gpt4o-deployment", context_window=128_000,
                    endpoint="https://res.openai.azure.com/", input_per_token=Decimal("0.0000025"),
                    output_per_token=Decimal("0.00001"), api_format="azure", **extra)


def test_registered_under_azure_with_deployment_url_default_api_version_and_api_key():
    assert isinstance(adapter_for("azure"), AzureAdapter)
    req = Z.build_request(provider(), {"model": "gpt-4o", "messages": []}, "az-secret", stream=False)
    assert req.url == ("https://res.openai.azure.com/openai/deployments/my-gpt4o-deployment/chat/completions"
                       f"?api-version={DEFAULT_API_VERSION}")
    assert req.headers["api-key"] == "az-secret" and "authorization" not in req.headers
    assert "api-key" not in Z.build_request(provider(), {"messages": []}, None, stream=False).headers


def test_the_providers_api_version_wins_and_survives_registration_and_snapshot():
    registered = provider_from_registration(
        {"name": "az", "model": "dep", "context_window": 1000, "input_per_mtok": 1, "output_per_mtok": 1,
         "endpoint": "https://res.openai.azure.com", "api_format": "azure", "api_version": "2025-01-01-preview"},
        datetime.now(UTC))
    again = Provider.from_json(orjson.loads(orjson.dumps(registered.to_json(), default=str)))
    assert again.api_version == "2025-01-01-preview"
    req = Z.build_request(again, {"messages": []}, None, stream=False)
    assert req.url.endswith("/openai/deployments/dep/chat/completions?api-version=2025-01-01-preview")


def test_streams_ask_for_usage_and_answers_are_read_as_openai():
    req = Z.build_request(provider(), {"messages": [{"role": "user", "content": "hi"}]}, "k", stream=True)
    body = orjson.loads(req.body)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    parsed = Z.parse_response(b'{"choices":[{"message":{"content":"x"},"finish_reason":"content_filter"}],'
                              b'"usage":{"prompt_tokens":3,"completion_tokens":1}}')
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == (3, 1)
    parser = Z.stream_parser()
    # Azure's first chunk carries only prompt_filter_results: it passes through, not as usage
    [first] = parser.parse_event([b'data: {"choices":[],"prompt_filter_results":[]}\n', b"\n"])
    assert not first.usage_only and first.usage is None and first.raw
    [done] = parser.parse_event([b"data: [DONE]\n", b"\n"])
    assert done.done


def test_error_message_reads_azure_error_bodies():
    raw = b'{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}'
    assert Z.error_message(404, raw).startswith("The API deployment")


def test_cache_reads_and_writes_are_read_as_openai_plain_and_streamed():
    usage = (b'"usage":{"prompt_tokens":3000,"completion_tokens":2,"total_tokens":3002,'
             b'"prompt_tokens_details":{"cached_tokens":1024,"cache_write_tokens":1536}}')
    parsed = Z.parse_response(b'{"choices":[{"message":{"content":"x"},"finish_reason":"stop"}],' + usage + b"}")
    assert (parsed.usage.input_tokens, parsed.usage.cache_read_input_tokens,
            parsed.usage.cache_creation_input_tokens) == (3000, 1024, 1536)
    [ev] = Z.stream_parser().parse_event([b'data: {"choices":[],' + usage + b"}\n", b"\n"])
    assert ev.usage_only and (ev.usage.cache_read_input_tokens, ev.usage.cache_creation_input_tokens) == (1024, 1536)
