"""Notifications: in-app messages for staff and the email outbox."""
