"""What the gateway settles on an OpenAI embeddings answer once the provider has given it: base64
vectors for formats that only return floats (decoded by the SDKs to the same float32 numbers),
the model, and the estimated usage when the provider reported none."""

import array
import base64
import struct

import pytest

from services.gateway.adapters.embeddings import as_asked, embeddings_list, float32_base64

VECTORS = [[0.123456, -0.654321, 1.0, 0.0], [-1.0, 0.5, 3.0e-7, 42]]


def as_float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.mark.parametrize("vector", VECTORS)
def test_base64_is_little_endian_float32_and_decodes_to_the_same_numbers(vector):
    raw = base64.b64decode(float32_base64(vector))
    decoded = list(struct.unpack(f"<{len(raw) // 4}f", raw))
    assert decoded == [as_float32(x) for x in vector]
    assert decoded == pytest.approx(vector, rel=1e-6, abs=1e-7)
    assert array.array("f", raw).tolist() == decoded  # the openai SDK without numpy (a little-endian host)


@pytest.mark.parametrize("vector", VECTORS)
def test_the_sdks_numpy_decoding_gives_the_same_numbers(vector):
    np = pytest.importorskip("numpy")  # the openai SDK decodes with numpy when it is installed
    decoded = np.frombuffer(base64.b64decode(float32_base64(vector)), dtype="float32")
    assert decoded.tolist() == np.asarray(vector, dtype=np.float32).tolist()


def test_known_bytes():
    assert float32_base64([1.0, -2.0]) == base64.b64encode(bytes.fromhex("0000803f000000c0")).decode()
    assert float32_base64([]) == ""


def test_float_vectors_become_base64_when_asked_and_usage_and_model_are_filled_in():
    data = embeddings_list(VECTORS)
    out = as_asked(data, {"encoding_format": "base64"}, model="gemini-embedding-001", input_tokens=9)
    assert out is not None
    assert [item["embedding"] for item in out["data"]] == [float32_base64(v) for v in VECTORS]
    assert [(item["object"], item["index"]) for item in out["data"]] == [("embedding", 0), ("embedding", 1)]
    assert out["model"] == "gemini-embedding-001"
    assert out["usage"] == {"prompt_tokens": 9, "total_tokens": 9}
    assert data["data"][0]["embedding"] == VECTORS[0]  # the parsed answer itself is left as it was


@pytest.mark.parametrize("payload", [{}, {"encoding_format": "float"}])
def test_floats_stay_floats_unless_base64_is_asked(payload):
    out = as_asked(embeddings_list(VECTORS), payload, model="m", input_tokens=3)
    assert out is not None and [item["embedding"] for item in out["data"]] == VECTORS


def test_an_answer_already_as_asked_passes_through_untouched():
    data = {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2},
            "data": [{"object": "embedding", "index": 0, "embedding": float32_base64(VECTORS[0])}]}
    assert as_asked(data, {"encoding_format": "base64"}, model="x", input_tokens=None) is None
    floats = {**data, "data": [{"object": "embedding", "index": 0, "embedding": VECTORS[0]}]}
    assert as_asked(floats, {}, model="x", input_tokens=None) is None


def test_the_providers_own_usage_is_never_replaced_by_an_estimate():
    data = {**embeddings_list(VECTORS, "m"), "usage": {"prompt_tokens": 5, "total_tokens": 5}}
    assert as_asked(data, {}, model="m", input_tokens=99) is None
