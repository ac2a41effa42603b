"""Accounts: organisations, staff users, roles, sign-in and TOTP."""
