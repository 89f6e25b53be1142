"""Public, read-only pages and documents that employers and validators fetch: badge pages,
hosted Open Badges documents, issuer keys, revocation lists, evidence pages and verification."""
