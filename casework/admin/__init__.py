"""Admin (surface): an organisation's staff accounts and its audit trail, for its admins."""
