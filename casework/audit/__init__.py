"""Audit: append-only, hash-chained events."""
