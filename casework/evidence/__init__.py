"""Evidence (domain, lowest layer of the domain): X links and link lists, screenshots
sanitised, hashed (SHA-256, PDQ), encrypted and stored."""
