"""Notices (domain, top of the domain): notices under a registry route, their completeness,
the letters generated for them (PDF), follow-ups, bulk letters and evidence bundles.
Its staff pages (the notices blueprint, /staff/notices) are in views.py."""
