"""Trailbook: a tamper-evident, self-hosted audit trail service."""

__version__ = "0.1.0"
