"""Cases: Case, Item, workflow, queues, grouping and merging."""
