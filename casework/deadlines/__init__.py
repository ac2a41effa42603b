"""Deadlines (domain, below notices): deadline arithmetic from the registry's rules,
scheduling of reminder and expiry jobs, the sweep that handles what is due, escalations,
removal checks against X and the platform compliance report."""
