"""Cases (domain, below notices and deadlines): Case and Item, the workflow of statuses,
caseworkers' worklists, the case screen, grouping of cases about the same person,
merging, retention. Its staff pages are in views.py."""
