"""The JSON API for integrations, /api/v1/: bearer tokens, one organisation's cases."""
