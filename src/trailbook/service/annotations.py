"""Annotations: comments and tags that staff put on events. Each is its own
append-only record pointing at an event; the event never changes. Adding one needs
``events.annotate`` and is audited in the tenant's ``admin`` category; reading them
needs ``events.read``. Both see only events of the caller's categories."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import orjson
import uuid_utils

from trailbook.errors import ErrorDetail, Forbidden
from trailbook.model.annotation import clean_comment, normalize_tag
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.audit import RequestContext, SelfAudit
from trailbook.service.access.masking import mask_text
from trailbook.service.access.principal import Principal
from trailbook.service.access.reading import ReadService
from trailbook.store.base import Store
from trailbook.store.records import Annotation, StoredEvent, User


class EventAnnotations(NamedTuple):
    comments: list[Annotation]  # oldest first
    tags: list[Annotation]  # oldest first


def masked(annotation: Annotation) -> Annotation:
    """``annotation`` with the emails and IP addresses in it masked, for a caller
    without ``personal_data`` (as events are)."""
    return replace(annotation, body=mask_text(annotation.body),
                   author_email=mask_text(annotation.author_email),
                   author_name=mask_text(annotation.author_name))


class AnnotationService:
    def __init__(self, store: Store, reads: ReadService, audit: SelfAudit) -> None:
        self.store = store
        self.reads = reads
        self.audit = audit

    def comment(self, principal: Principal, event_id: str, text: str,
                context: RequestContext) -> Annotation:
        """Add a comment (1-4,000 characters, trimmed) to an event."""
        author = self._author(principal)
        body = clean_comment(text)
        event = self.reads.readable(principal, event_id)
        stored, _ = self._add(principal, author, event, "comment", body, context)
        return stored

    def tag(self, principal: Principal, event_id: str, tag: str,
            context: RequestContext) -> tuple[Annotation, bool]:
        """Tag an event (the tag in lower case). (the tag, True) when stored; a tag the
        event already has stores nothing new: (the stored one, False)."""
        author = self._author(principal)
        body = normalize_tag(tag)
        event = self.reads.readable(principal, event_id)
        stored, created = self._add(principal, author, event, "tag", body, context)
        return self._shown(principal, stored), created

    def list(self, principal: Principal, event_id: str) -> EventAnnotations:
        """An event's comments and tags, oldest first."""
        principal.require("events.read")
        event = self.reads.readable(principal, event_id)
        found = self.store.annotations.for_event(principal.tenant.id, event.pos)
        shown = [self._shown(principal, a) for a in found]
        return EventAnnotations([a for a in shown if a.kind == "comment"],
                                [a for a in shown if a.kind == "tag"])

    # -- inside --------------------------------------------------------------

    @staticmethod
    def _author(principal: Principal) -> User:
        """Who may annotate: staff holding ``events.annotate`` (and ``events.read``:
        no one annotates what they may not read). Authors are people, so API keys
        may not."""
        principal.require("events.annotate")
        if principal.user is None:
            raise Forbidden("API keys cannot annotate events; sign in as a staff user",
                            [ErrorDetail("authorization", "annotations are written by "
                                                          "people")], "events.annotate")
        principal.require("events.read")
        return principal.user

    @staticmethod
    def _shown(principal: Principal, annotation: Annotation) -> Annotation:
        return annotation if principal.sees_personal_data else masked(annotation)

    def _add(self, principal: Principal, author: User, event: StoredEvent, kind: str,
             body: str, context: RequestContext) -> tuple[Annotation, bool]:
        """Store one annotation and audit it; a repeated tag is neither."""
        event_id = str(orjson.loads(event.doc)["id"])
        made = Annotation(str(uuid_utils.uuid7()), principal.tenant.id, event.pos, event_id,
                          kind, body, author.id, author.email, author.name,
                          format_us(now_us()))
        stored, created = self.store.annotations.add(made)
        if created:
            self.audit.record(
                principal.tenant, category="admin", action=f"event.{kind}",
                action_type="create", actor=principal.actor(), context=context,
                targets=[{"type": "event", "id": event_id}],
                metadata={"annotation_id": stored.id,
                          "text" if kind == "comment" else "tag": body},
                session_id=principal.session.id if principal.session else None)
        return stored, created
