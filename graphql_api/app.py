"""The ASGI app: ``create_app(settings)`` -> Starlette app serving ``/graphql`` (GraphiQL on GET,
its scripts served from ``/static/vendor``), ``/healthz``, and the partners' scorecard page at ``/``
(``graphql_api/static``). ``PcsGraphQL`` adds bearer tokens, one database snapshot per request and the
response cache to Strawberry's view (why it overrides ``__call__``/``run``: docs/architecture.md,
"A request"). ``pcs serve`` runs ``create_served_app`` under uvicorn."""

from __future__ import annotations

import gc
import json
import logging
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from graphql_api.auth import (
    ADMIN,
    Unauthorized,
    Viewer,
    authenticate,
    bearer_token,
    is_admin_token,
    partner_viewer,
)
from graphql_api.cache import ResponseCache, SqliteChangeCounter, sqlite_file
from graphql_api.config import ApiSettings
from graphql_api.context import Budget, Context
from graphql_api.db.request import RequestDB
from graphql_api.db.versions import snapshot_state
from graphql_api.loaders import Loaders
from graphql_api.schema import build_schema
from graphql_api.services import Services
from storage.tokens import hash_token

log = logging.getLogger("graphql_api")

# every POST answer says what the response cache did: hit, miss (computed and stored) or bypass
# (computed, not stored: errors, data read outside the database, or no cache)
CACHE_HEADER = "x-pcs-cache"
_HIT_HEADERS = [(b"content-type", b"application/json"), (CACHE_HEADER.encode(), b"hit")]
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_UNCACHEABLE = "pcs.uncacheable"  # scope key set when an answer has errors


STATIC_DIR = Path(__file__).parent / "static"  # the scorecard page, our GraphiQL page and the vendored assets
MAX_BODY_BYTES = 1 << 20  # a document of max_tokens tokens and its variables fit many times over


class BodyTooLarge(Exception):
    pass


def limit_body(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises ``BodyTooLarge`` past ``limit`` bytes (chunked bodies have no length)."""
    seen = 0

    async def limited() -> dict:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise BodyTooLarge
        return message

    return limited


def too_large_response() -> JSONResponse:
    return JSONResponse({"errors": [{"message": "Request body too large."}]}, status_code=413)


def unauthorized_response(exc: Unauthorized) -> JSONResponse:
    challenge = 'Bearer realm="pcs"' + (', error="invalid_token"' if exc.invalid_token else "")
    return JSONResponse(
        {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class PcsGraphQL(GraphQL):
    """Strawberry's ASGI view with bearer-token authentication, a typed context and the
    response cache. A POST: token -> viewer and data version -> the cached answer for (viewer,
    body) at that version, else Strawberry on the request's snapshot, stored when complete.
    A GET (GraphiQL page, or a query in the URL) is never cached."""

    def __init__(self, settings: ApiSettings, services: Services | None = None) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphql_ide else None,
            allow_queries_via_get=True,
            subscription_protocols=(),
        )
        self.settings = settings
        self.services = services or Services(settings)
        self.cache = ResponseCache(int(settings.cache_mb * 2**20))
        engine = self.services.engine
        self.backend = engine.dialect.name
        path = sqlite_file(engine) if self.backend == "sqlite" else None
        self.changes = SqliteChangeCounter(path) if path is not None else None

    # ---- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no subscriptions: refuse websockets
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        length = _header(scope, b"content-length") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            await too_large_response()(scope, receive, send)
            return
        limited = limit_body(receive, MAX_BODY_BYTES)
        try:
            if scope["method"] == "POST":
                await self._post(scope, limited, send)
            else:
                await super().__call__(scope, limited, send)
        except BodyTooLarge:
            await too_large_response()(scope, receive, send)
        except Unauthorized as exc:
            await unauthorized_response(exc)(scope, receive, send)
        except Exception:
            log.exception("request failed before execution")
            await JSONResponse({"errors": [{"message": "Unexpected error."}]}, status_code=500)(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = bearer_token(_header(scope, b"authorization"))
        request = Request(scope, receive)
        body = await request.body()
        rdb = self.new_db()
        cached: bytes | None = None
        try:
            viewer, version = await self.identify(token, rdb)
            key = None
            if (
                version is not None
                and self.cache.enabled
                and "application/json" in (_header(scope, b"content-type") or "")
            ):
                key = (viewer.cache_key, body)
                cached = self.cache.get(key, version)
            if cached is None:
                if key is not None and self.backend == "postgresql":
                    # a miss: the answer is computed in the request's snapshot and stored under
                    # the version read there (the version read first may be older by now)
                    version, _ = await rdb.run(snapshot_state, None)
                context = self.new_context(viewer, rdb)
                try:
                    response = await GraphQL.run(self, request, context=context)
                except HTTPException as e:
                    response = PlainTextResponse(e.reason, status_code=e.status_code)
                else:
                    stored = (
                        key is not None
                        and context.cacheable
                        and response.status_code == 200
                        and not scope.get(_UNCACHEABLE)
                        and type(response) is Response
                    )
                    if stored:
                        self.cache.put(key, version, bytes(response.body), len(body))
                    response.headers[CACHE_HEADER] = "miss" if stored else "bypass"
        finally:
            rdb.close()  # before the answer is sent: the connection goes back to the pool now
        if cached is None:
            await response(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*_HIT_HEADERS, (b"content-length", str(len(cached)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": cached})

    # ---- who asks, and the data version ------------------------------------------------------

    def new_db(self) -> RequestDB:
        services = self.services
        return RequestDB(services.engine, services.gate, threads=services.db_threads, executor=services.executor)

    async def identify(self, token: str, rdb: RequestDB) -> tuple[Viewer, Any]:
        """The viewer of ``token`` and the data version the request reads (None: do not cache).
        Raises ``Unauthorized`` for an unknown or revoked token."""
        admin = is_admin_token(token, self.settings.admin_token)
        if not self.cache.enabled:
            return (ADMIN if admin else await rdb.run(authenticate, token)), None
        if self.services.versions is not None:
            # PostgreSQL: version and token in one statement, on the version reader's connection,
            # before the request's own transaction: a hit needs nothing else (a miss: ``_post``)
            version, found = await self.services.versions.read(None if admin else hash_token(token))
            return (ADMIN if admin else partner_viewer(found)), version
        # SQLite: the version is read before the snapshot opens (docs/architecture.md, "Response cache")
        version = self.changes.current() if self.changes is not None else None
        return (ADMIN if admin else await rdb.run(authenticate, token)), version

    # ---- Strawberry hooks --------------------------------------------------------------------

    @property
    def graphql_ide_html(self) -> str:
        """Our GraphiQL page: Strawberry's loads its scripts from a public CDN; ours loads the
        vendored copies from ``/static/vendor`` (works with no internet access)."""
        return (STATIC_DIR / "graphiql.html").read_text(encoding="utf-8")

    def decode_json(self, data: str | bytes) -> object:
        """A request body (or GET ``variables``) must be JSON text of an object (a list is a batch,
        refused by Strawberry): anything else is a 400, not a 500."""
        try:
            value = json.loads(data)
            json.dumps(value, ensure_ascii=False).encode()  # lone surrogates (\\ud800) are not text
        except (ValueError, RecursionError) as exc:  # bad UTF-8, 4,300+ digit numbers, deep nesting
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(value, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object")
        return value

    def new_context(self, viewer: Viewer, rdb: RequestDB) -> Context:
        s = self.settings
        return Context(
            viewer=viewer,
            db=rdb,
            services=self.services,
            loaders=Loaders(rdb, self.services),
            budget=Budget(scorecards=s.max_scorecards, customers=s.max_customers),
        )

    def encode_json(self, data: object) -> str:
        return _encode(data)

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        if result.errors:
            request.scope[_UNCACHEABLE] = True
        return await super().process_result(request, result)

    async def run(self, request: Request, context: Any = UNSET, root_value: Any = UNSET) -> Response:  # type: ignore[override]
        """GET requests (POSTs go through ``_post``): the GraphiQL page needs no token, a query
        does; never cached."""
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return await super().run(request, context={}, root_value=root_value)
        token = bearer_token(request.headers.get("authorization"))
        rdb = self.new_db()
        try:
            if is_admin_token(token, self.settings.admin_token):
                viewer = ADMIN
            else:
                viewer = await rdb.run(authenticate, token)
            return await super().run(request, context=self.new_context(viewer, rdb), root_value=root_value)
        finally:
            rdb.close()


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def scorecard_page(request: Request) -> Response:
    """The partners' scorecard page (it asks for a token itself; the page holds no data)."""
    return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)


# the page and its scripts come from this server only; the API is fetched from the same origin
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def create_app(settings: ApiSettings | None = None) -> Starlette:
    settings = settings or ApiSettings.from_env()
    if not settings.admin_token:
        log.warning("PCS_ADMIN_TOKEN is not set: only partner tokens can read the API")
    graphql = PcsGraphQL(settings)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/", scorecard_page, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.graphql = graphql
    return app


def create_served_app() -> Starlette:
    """``create_app()`` for a server process, with the start-up heap frozen out of the garbage
    collector's sight and fewer collections (tail latency; docs/architecture.md, "Garbage
    collector")."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    return app
