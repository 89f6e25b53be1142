"""Evidence portfolios: each worker's library of files, links and written reflections.

Owns the `EvidenceItem` model, the content checks of uploads (`validation`), the upload flows
(direct to storage with presigned URLs, or streamed through the app) and who may see an item
(`services.can_view_item`).
"""
