"""Audit (domain, below accounts): the append-only, hash-chained trail of every action,
one chain per organisation, its signed anchors and its review. Callers record events
through casework.audit.events, one helper per kind of object."""
