"""The victim's own case page, reached with the case reference and access code."""
