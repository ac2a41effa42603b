"""Deadlines: rules, scheduling, sweep and reminder jobs."""
