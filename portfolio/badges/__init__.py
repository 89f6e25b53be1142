"""Badges: credentials (badge classes), issuance, Open Badges documents, signing, baking,
revocation."""
