"""Settings of the example shop: SQLite, Django's auth, and Trailbook auditing the
``shop`` app's models plus every request.

Environment: TRAILBOOK_URL, TRAILBOOK_API_KEY, TRAILBOOK_SPOOL (the client's spool
file), TRAILBOOK_TRUSTED_PROXIES (comma-separated; default none), SHOP_DB (the SQLite
file; default shop.sqlite3 beside manage.py)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
ROOT_URLCONF = "site_config.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "trailbook.integrations.django",
    "shop",
]

MIDDLEWARE = [
    "shop.auth.TokenAuthMiddleware",  # sets request.user (a real site: AuthenticationMiddleware)
    "trailbook.integrations.django.middleware.TrailbookMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SHOP_DB", str(BASE_DIR / "shop.sqlite3")),
    }
}

CLIENT_OPTIONS = {"flush_interval": 0.2}
if os.environ.get("TRAILBOOK_SPOOL"):
    CLIENT_OPTIONS["spool_path"] = os.environ["TRAILBOOK_SPOOL"]

TRAILBOOK = {
    "URL": os.environ.get("TRAILBOOK_URL"),
    "API_KEY": os.environ.get("TRAILBOOK_API_KEY"),
    "CLIENT_OPTIONS": CLIENT_OPTIONS,
    "MODELS": ["shop"],
    "TRUSTED_PROXIES": os.environ.get("TRAILBOOK_TRUSTED_PROXIES", ""),
    "SKIP_PATHS": ["/health"],
    "LOG_REQUESTS": True,
}
