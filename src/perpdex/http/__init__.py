"""The HTTP read API: an ASGI app (FastAPI on uvicorn) served by the node on its own port,
beside the WebSocket gateway (docs/protocol.md, "HTTP API"; docs/architecture.md says why).

``app.create_app(sources)`` builds it from what the node exposes (:mod:`.sources`);
``server.HttpServer`` serves it on the node's event loop. Routes are grouped by what they
read, one module each under :mod:`.routes`; replies are the typed models of :mod:`.models`
(amounts as decimal strings in the units a person reads), errors those of :mod:`.errors`.
"""
