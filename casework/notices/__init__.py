"""Notices: the jurisdiction registry, completeness checks, notices and letters."""
