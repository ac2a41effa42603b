"""Accounts (domain): organisations, staff users, roles, sign-in with TOTP, password links,
and the staff gate in front of every /staff page. Imports core, audit and the packages
below it; its staff pages are in views.py."""
