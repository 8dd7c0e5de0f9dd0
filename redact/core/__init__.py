"""The vocabulary every stage shares: region kinds and boxes, box relations, the options
(policy, zones, incidents), checked text and JSON, and the process's thread budget.
Imports nothing else of redact."""
