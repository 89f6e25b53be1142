"""Awards: issuing badges on a pass (exactly once), issuer signing keys, the hosted Open Badges
2.0/3.0 documents (`awards.ob`: pure builders, proofs, loader), revocation, the earner's
visibility choices, baking, and the worker's portfolio export."""
