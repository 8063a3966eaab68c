"""Limits on what one event may hold. Documented in docs/events.md; change both together."""

MAX_ID = 256
MAX_NAME = 256
MAX_EMAIL = 320
MAX_ACTION = 128
MAX_CATEGORY = 40
MAX_SCOPE = 128
MAX_TYPE = 64
MAX_CORRELATION_ID = 128
MAX_DESCRIPTION = 2000
MAX_REASON = 1000
MAX_USER_AGENT = 1024
MAX_IDEMPOTENCY_KEY = 255
MAX_CHANGE_FIELD = 256
MAX_TARGETS = 64
MAX_CHANGES = 256
MAX_METADATA_DEPTH = 8
MAX_METADATA_KEY = 128
MAX_METADATA_BYTES = 32 * 1024
MAX_CHANGES_BYTES = 32 * 1024  # all old and new values together, as JSON
# I-JSON (RFC 7493): integers must be exact in an IEEE double, so any language
# can re-read and re-canonicalise them.
MAX_SAFE_INTEGER = 2**53 - 1
# occurred_at may lie at most this far ahead of the server clock.
MAX_FUTURE_SECONDS = 24 * 3600

DEFAULT_CATEGORIES = ("general", "device", "client", "task", "admin", "access", "system")
ACTION_TYPES = (
    "create", "read", "update", "delete", "login", "logout",
    "export", "execute", "permission", "other",
)  # fmt: skip
SEVERITIES = ("info", "notice", "warning", "critical")
ACTOR_TYPES = ("user", "system", "api_key", "automation")
RESULTS = ("success", "failure")
