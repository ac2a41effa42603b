"""Admin: the organisation's staff accounts and its audit trail."""
