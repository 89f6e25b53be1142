"""Awards: issuing badges on a pass (exactly once: `issuance`, signed after commit by `signing`),
issuer signing keys (`signing_keys`), the hosted Open Badges 2.0/3.0 documents (`documents`, built
by the pure functions of `awards.ob`), revocation and status lists (`revocation`,
`status_lists`), the earner's visibility choices (`visibility`), badge images and baking
(`images`, `baking`), verification reports (`verification`), bulk awards (`bulk`), and the
worker's portfolio export (`portability`)."""
