"""The web console: server-rendered pages (Jinja2) with plain JavaScript and CSS served
by Trailbook itself. Pages read through the service layer; what they change goes
through the JSON API (the same permission checks, CSRF and audit as any client)."""
