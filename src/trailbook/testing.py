"""For users' own tests: ``with trailbook.testing.capture() as events:`` records every
event their code logs, in memory, validated as for real (see ``trailbook.sdk.testing``)."""

from trailbook.sdk.testing import Captured, capture

__all__ = ["Captured", "capture"]
