"""Personal data: the salt of hashed values, the suppression list, erasure across every layer."""
