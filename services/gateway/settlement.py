"""Settlement: a request that got past the door (key, rate limits, a chosen provider) ends with
exactly one receipt, every budget reservation released, and its upstream response given back to
the pool or closed — on every exit: an answer, a provider error, the client leaving before or
after the first byte, a cancellation, or an exception nobody expected.

The pipeline opens one `Settlement` per admitted request. Whoever finishes the request calls
`settle(...)` with what happened; every exit path also reaches `close(...)` (the pipeline's
`owned()` scope for plain answers, the event stream's `finally` for streams), which settles
what was left unsettled from the exception it saw and closes the upstream response. A second
`settle` is a no-op: the first receipt stands.

Money: a call the provider answered (`answer` attached with a status below 400) was paid for,
so a request that fails after that is charged — the provider's usage when it said, else an
estimate marked `usage_estimated`. A request that failed before any answer is charged nothing.
When the receipt itself cannot be written, the whole reservation stays held (the budget errs on
the safe side until the lease is returned) and the client gets a 503.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from services.common.errors import BudgetExceeded, ReceiptNotWritten, TollwayError, UpstreamUnreadable
from services.common.registry.provider import Provider
from services.common.selection.estimate import typical_input_tokens
from services.gateway.adapters.base import Usage
from services.gateway.receipts.build import Receipt, build_receipt

if TYPE_CHECKING:
    from services.gateway.forwarding.fallback import Answer
    from services.gateway.pipeline import Admitted, Pipeline

log = structlog.get_logger("tollway.gateway.settlement")

CLIENT_GONE = {"type": "client_disconnected", "message": "client went away; billed for what the provider generated"}


@dataclass(slots=True)
class Outcome:
    """How a request ended, as its receipt will say."""

    status: str  # success | error | budget_exceeded
    http_status: int
    error: dict[str, str] | None = None


def outcome_of(exc: BaseException, answered: bool) -> Outcome:
    """The receipt's reading of an exception that ended a request."""
    if isinstance(exc, BudgetExceeded):
        return Outcome("budget_exceeded", exc.status, {"type": exc.type, "message": exc.message})
    if isinstance(exc, TollwayError):
        return Outcome("error", exc.status, {"type": exc.type, "message": exc.message})
    if isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
        return Outcome("error", 499, dict(CLIENT_GONE))
    kind = "upstream_unreadable" if answered else "internal_error"
    return Outcome("error", 502 if answered else 500, {"type": kind, "message": f"{type(exc).__name__}: {exc}"[:300]})


class Settlement:
    """One admitted request's account with its budgets, its provider and its receipt."""

    __slots__ = ("pipeline", "admitted", "answer", "usage", "text_chars", "body_bytes", "receipt", "handed_off")

    def __init__(self, pipeline: Pipeline, admitted: Admitted) -> None:
        self.pipeline = pipeline
        self.admitted = admitted
        self.answer: Answer | None = None  # the upstream answer this request holds, once one came
        self.usage: Usage | None = None  # the provider's, once it has said
        self.text_chars = 0  # generated text streamed so far (the estimate when usage never comes)
        self.body_bytes = 0  # a plain answer's body size (the estimate when it cannot be read)
        self.receipt: Receipt | None = None
        self.handed_off = False  # a stream owns it now: the stream's end settles it
        pipeline.open_settlements += 1

    @property
    def settled(self) -> bool:
        return self.receipt is not None

    @property
    def paid(self) -> bool:
        """The provider answered (a status below 400): the call was billed."""
        return self.answer is not None and self.answer.status < 400

    def attach(self, answer: Answer) -> None:
        self.answer = answer
        if answer.body is not None:
            self.body_bytes = len(answer.body)

    # -- the one receipt --------------------------------------------------------------------------
    def settle(self, provider: Provider | None, outcome: Outcome, *, usage: Usage | None = None,
               charged: bool | None = None) -> Receipt | None:
        """Write the request's receipt (before the client sees the answer), release its
        reservations and settle its rate-limit tokens; once. `usage` None: the estimate."""
        if self.receipt is not None:
            return self.receipt
        admitted, pipeline = self.admitted, self.pipeline
        if provider is None:
            provider = self.answer.provider if self.answer is not None else self.chosen
        estimated = usage is None and (charged if charged is not None else outcome.status == "success")
        tokens = usage if usage is not None else (self.estimate() if estimated else Usage(0, 0))
        receipt = build_receipt(
            admitted.facts, provider, status=outcome.status, http_status=outcome.http_status, usage=tokens,
            latency_ms=(time.perf_counter() - admitted.started) * 1000, timestamp=pipeline.clock.now(),
            usage_estimated=estimated, error=outcome.error, charged=charged)
        self.receipt = receipt
        pipeline.open_settlements -= 1
        try:
            pipeline.writer.write(receipt)
        except OSError as exc:
            # not metered: keep every reservation whole until its lease is returned
            self._release(lambda reservation: reservation.micros)
            log.error("receipt_not_written", request_id=admitted.call.request_id, error=str(exc))
            raise ReceiptNotWritten(f"the receipt could not be written ({exc.strerror or exc}); "
                                    "the answer is withheld because it cannot be metered") from None
        cost = receipt["cost_micros"]
        self._release(lambda _reservation: cost)
        pipeline.after_receipt(admitted, provider, receipt, tokens.input_tokens + tokens.output_tokens)
        return receipt

    def estimate(self) -> Usage:
        """What the call cost by the gateway's estimate: the request's input, and the text seen."""
        call = self.admitted.call
        if self.text_chars or call.stream:
            out = (self.text_chars + 3) // 4
        else:
            out = 0 if call.kind == "embeddings" else max(self.body_bytes // 4, 1)
        return Usage(typical_input_tokens(call.payload), out)

    @property
    def chosen(self) -> Provider:
        decision = self.admitted.decision
        assert decision is not None, "a request without a decision is a cache hit, settled at once"
        return decision.provider

    def _release(self, cost_of: Any) -> None:
        for reservation in self.admitted.reservations:
            self.pipeline.leases.release(reservation, cost_of(reservation))

    # -- every exit -------------------------------------------------------------------------------
    def fail(self, exc: BaseException) -> Receipt | None:
        """Settle from the exception that ended the request (a paid call is charged)."""
        if self.receipt is not None:
            return self.receipt
        outcome = outcome_of(exc, self.paid)
        if not isinstance(exc, (TollwayError, asyncio.CancelledError, GeneratorExit)):
            log.error("request_failed_unexpectedly", request_id=self.admitted.call.request_id,
                      error=f"{type(exc).__name__}: {exc}"[:300])
        return self.settle(None, outcome, usage=self.usage, charged=self.paid)

    def close(self, exc: BaseException | None = None) -> None:
        """The request's last step, whatever happened: settle what is unsettled, and give the
        upstream response back (read to its end) or close it (anything else)."""
        try:
            if self.receipt is None:
                self.fail(exc if exc is not None else asyncio.CancelledError())
        finally:
            answer = self.answer
            if answer is not None:
                if answer.body is not None:
                    answer.response.release()  # read whole: back to the pool if both sides keep it
                else:  # a stream: its outcome to the breaker (once), its connection kept only if it ended
                    ok = self.receipt is not None and (self.receipt["status"] == "success"
                                                       or (self.receipt.get("error") or {}).get("type")
                                                       == CLIENT_GONE["type"])
                    answer.settle(ok)
                    if self.receipt is None or self.receipt["status"] != "success":
                        answer.response.close()  # cut short: the upstream request is cancelled
                self.answer = None
            if self.receipt is not None:
                # settled and closed: nothing here reads the request again. Letting go of it breaks
                # the admitted <-> settlement cycle, so reference counting frees the request's
                # objects at once; left to the cyclic collector, they outlived collections and
                # made each one walk them (twice the gateway's GC time per request)
                self.admitted = None  # type: ignore[assignment]

    def owned(self) -> Settlement:
        """The request's scope in its handler (`with settlement.owned():`): any exception settles
        it and closes the upstream response (an unexpected one after a paid answer reaches the
        client as a 502); a normal exit closes it too, unless a stream took it over (`handed_off`).
        The settlement is its own context manager: no generator-based one on every request."""
        return self

    def __enter__(self) -> Settlement:
        return self

    def __exit__(self, _type: type[BaseException] | None, exc: BaseException | None, _tb: Any) -> None:
        if exc is None:
            if not self.handed_off:
                self.close()
            return
        paid = self.paid
        self.close(exc)
        if paid and not isinstance(exc, (TollwayError, asyncio.CancelledError, GeneratorExit)):
            assert self.receipt is not None
            raise UpstreamUnreadable(f"the answer of provider {self.receipt['provider']} could not be read "
                                     f"({type(exc).__name__}); charged at the gateway's estimate") from exc
        # None: the exception goes on as it was


def zero_cost(provider: Provider, receipt: Receipt, output_tokens: int) -> bool:
    """A priced provider's successful answer whose receipt cost nothing: a sign of a missing price."""
    # the integer test first: on nearly every receipt it is the one that answers
    return (receipt["cost_micros"] == 0 and receipt["status"] == "success" and output_tokens > 0
            and (provider.input_per_token > 0 or provider.output_per_token > 0))
