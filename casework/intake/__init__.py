"""Intake (surface): the public report form and, in intake.victim, the victim's own case
page: the only pages the public reaches. It uses the domain packages and is used by
nothing but the app factory."""
