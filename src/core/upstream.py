"""Turn an IR request into the exact upstream request for one credential (no I/O).

render (or pass the client body through) -> thinking -> payload rules -> forced fields -> continuity
-> headers. Same dialect in and out keeps the client body, only sanitised, so nothing a client sends is lost.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import catalog, compaction, continuity, dialects, executors, ir, payload, signatures, thinking
from core.executors.base import CallContext

if TYPE_CHECKING:
    from core.call import ClientCall
    from core.config import Config
    from core.executors.base import Executor
    from core.models import Route, Target

# Client headers the executors may pass on (identity of the real client; never auth or session routing).
_FORWARDED = ("anthropic-beta", "anthropic-version", "idempotency-key", "openai-beta", "user-agent", "originator",
              "version", "x-codex-turn-metadata", "x-codex-beta-features", "x-app")


@dataclass(frozen=True, slots=True)
class Prepared:
    executor: Executor
    dialect: ir.Dialect  # the upstream's wire dialect
    passthrough: bool
    body: dict[str, Any]
    ctx: CallContext
    continuity: continuity.Continuity | None


def prepare(req: ir.Request, target: Target, route: Route, call: ClientCall, cfg: Config) -> Prepared:
    cred = route.cred
    executor = executors.get(cred.kind)
    up_dialect = executor.dialect
    # Same dialect in and out passes the body on, unless it replays another provider's reasoning or a
    # compaction summary the proxy made (both must be re-rendered for this upstream).
    passthrough = (up_dialect == req.dialect and not signatures.has_foreign(req)
                   and not compaction.has_summary(req.original))
    if passthrough:
        body = dict(req.original)  # shallow: executors replace top-level keys, never mutate nested values
    else:
        body = dialects.get(up_dialect).render_request(req)
    body["model"] = route.upstream_model
    original = copy.deepcopy(body) if _has_rules(cfg) else body  # the translated request before any rule
    support = catalog.thinking_support(route.upstream_model, declared=cred.model_thinking.get(route.upstream_model))
    carried = None if passthrough else thinking.carried_intent(req.thinking, up_dialect)
    body = thinking.apply_thinking(body, route.upstream_model, req.dialect, up_dialect,
                                   suffix=target.suffix, support=support, carried=carried)
    if _has_rules(cfg):
        body = payload.apply_rules(body, original, route.upstream_model, cred.kind, cfg.payload,
                                   requested=target.requested)
    cont = None
    if executor.keys_sessions:
        cont = continuity.derive_key(req, call.headers, principal=call.principal, credential_id=cred.id,
                                     secrets=tuple(s for s in (cred.secret, cred.refresh_token) if s),
                                     execution_session=call.execution_session)
    compact = call.compact and executor.compacts  # the upstream's own compaction (Codex): one JSON answer
    ctx = CallContext(
        stream=executor.upstream_stream(req.stream) and not compact,
        upstream_model=route.upstream_model,
        cache_key=cont.key if cont else None,
        client_headers={k: v for k in _FORWARDED if (v := call.headers.get(k))},
        count_tokens=call.count_tokens,
        passthrough=passthrough,
        compact=compact,
    )
    body = executor.finalize(body, req, ctx)
    return Prepared(executor, up_dialect, passthrough, body, ctx, cont)


def _has_rules(cfg: Config) -> bool:
    p = cfg.payload
    return bool(p.default or p.default_raw or p.override or p.override_raw or p.filter)
