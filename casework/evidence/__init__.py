"""Evidence: X links, evidence files, hashing and storage."""
