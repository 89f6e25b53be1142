"""Open Badges 2.0 and 3.0 documents as pure functions: JSON-LD loading from vendored contexts,
Ed25519 keys, document builders, Data Integrity proofs (eddsa-rdfc-2022) and image baking.

Nothing here touches the database or the Flask app: callers pass small frozen dataclasses from
`portfolio.awards.ob.types` and get plain dicts (or bytes) back.
"""
