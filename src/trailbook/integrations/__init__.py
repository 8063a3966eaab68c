"""Web framework integrations of the Trailbook SDK.

- ``trailbook.integrations.asgi.TrailbookMiddleware``: FastAPI, Starlette, any ASGI app.
- ``trailbook.integrations.wsgi.TrailbookMiddleware``: Flask, any WSGI app.
- ``trailbook.integrations.django``: a Django app (middleware, model signals, changesets).
- ``trailbook.integrations.proxies``: the client IP behind trusted reverse proxies.

Each module imports only its own framework, and only when it is imported."""
