"""Notifications (domain, lowest layer of the domain): in-app messages for staff and the
email outbox with its delivery."""
