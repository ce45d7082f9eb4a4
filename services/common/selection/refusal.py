"""Why nobody can serve a request, as the error a client's SDK understands: a model nobody serves
is a 404 `model_not_found` naming the models that exist (and the nearest by edit distance); a
request larger than every context window of its model's providers is a 400
`context_length_exceeded`; a parameter (`response_format`, `tools`, an image, `stream`) whose
feature no provider of the model offers is a 400 naming the parameter; anything else stays a 404
`no_provider` with each provider's reason."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

from services.common.errors import ContextLengthExceeded, ModelNotFound, NoProviderMatches, UnsupportedParameter
from services.common.selection.candidate import Job
from services.common.selection.catalog import Catalog, Entry
from services.common.selection.features import detect

MODELS_SHOWN = 20
# the request parameter that asks for each feature, when the feature was read from the payload
PARAMETERS = {"json_mode": "response_format", "function_calling": "tools", "vision": "messages", "streaming": "stream"}
ASKS = {"json_mode": "a JSON response_format", "function_calling": "tools", "vision": "images in messages",
        "streaming": "stream: true"}


def distance(a: str, b: str) -> int:
    """Levenshtein distance, case-insensitive."""
    a, b = a.lower(), b.lower()
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def nearest(model: str, names: Iterable[str]) -> str | None:
    """The name closest to `model` by edit distance, when it is close enough to be a typo."""
    best: tuple[int, str] | None = None
    for name in names:
        d = distance(model, name)
        if best is None or (d, name) < best:
            best = (d, name)
    if best is None or best[0] > max(2, len(model) // 3):
        return None
    return best[1]


def unknown_model(model: str, served: Collection[str], aliases: Mapping[str, object] | None = None) -> ModelNotFound:
    """`model` is neither served by a provider nor an alias: say which models exist."""
    names = sorted(set(served) | set(aliases or ()))
    text = f"The model `{model}` does not exist: no registered provider serves it"
    if not names:
        return ModelNotFound(text + " (no providers are registered)", field="model")
    guess = nearest(model, names)
    shown = ", ".join(names[:MODELS_SHOWN]) + (f" and {len(names) - MODELS_SHOWN} more" if len(names) > MODELS_SHOWN
                                               else "")
    text += f". Did you mean `{guess}`? Models" if guess else ". Models"
    return ModelNotFound(f"{text} (GET /v1/models): {shown}", field="model")


def refusal(catalog: Catalog, job: Job, models: frozenset[str] | None, excluded: list[tuple[str, str]],
            describe: Callable[[Job, list[tuple[str, str]]], str]) -> NoProviderMatches:
    """The error for a request no provider can serve; `describe` words the plain 404's message."""
    request = job.request
    req = request.requirements
    if models is not None and catalog.entries and not any(e.provider.model in models for e in catalog.entries):
        return unknown_model(req.model or "", catalog.models, job.ctx.config.aliases)
    unavailable = job.ctx.unavailable
    serving = [e for e in catalog.active if (models is None or e.provider.model in models)
               and (req.provider is None or e.provider.name == req.provider)
               and e.provider.name not in request.exclude and e.provider.name not in unavailable]
    if not serving:
        return NoProviderMatches(describe(job, excluded))
    needed = max(req.context_window, request.input_tokens + request.output_tokens)
    fit = [e for e in serving if e.provider.context_window >= needed]
    if not fit:
        return _too_long(serving, job, needed)
    asked = detect(request.payload) - req.features  # features the payload's parameters ask for
    lacking = sorted(f for f in asked if not any(f in e.offers for e in fit))
    if lacking:
        return _unsupported(lacking, job, describe(job, excluded))
    return NoProviderMatches(describe(job, excluded))


def _too_long(serving: list[Entry], job: Job, needed: int) -> ContextLengthExceeded:
    request = job.request
    req = request.requirements
    largest = max(e.provider.context_window for e in serving)
    who = f"the largest of {len(serving)} provider{'s' if len(serving) > 1 else ''}"
    if req.model:
        who += f" serving {req.model}"
    if req.context_window >= request.input_tokens + request.output_tokens:
        return ContextLengthExceeded(
            f"This model's maximum context length is {largest} tokens ({who}); however, you asked for a context "
            f"window of {req.context_window} tokens.", field="requirements.context_window")
    return ContextLengthExceeded(
        f"This model's maximum context length is {largest} tokens ({who}); however, you requested about "
        f"{needed} tokens (about {request.input_tokens} in the messages, at about 4 bytes a token, and "
        f"{request.output_tokens} in the completion). Shorten the messages or lower max_tokens.",
        field="messages")


def _unsupported(lacking: list[str], job: Job, why: str) -> UnsupportedParameter:
    params = sorted({PARAMETERS[f] for f in lacking if f in PARAMETERS})
    asks = " and ".join(ASKS.get(f, f) for f in lacking)
    model = job.request.requirements.model
    of = f" of model {model}" if model else ""
    return UnsupportedParameter(
        f"{', '.join(params)}: no provider{of} supports {asks} (the {', '.join(lacking)} "
        f"feature{'s' if len(lacking) > 1 else ''}); {why}", field=params[0] if params else None)
