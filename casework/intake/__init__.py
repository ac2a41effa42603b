"""Intake: the public report form, the only public surface besides the victim's case page."""
