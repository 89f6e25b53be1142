"""Events of the evidence domain. Receivers live in the domains above and are connected in
`create_app` (through each domain's `init_app`)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent while the owner's item page renders, with `item` and `user`: each receiver returns the
#: HTML (a `Markup`) of one more section of the page, or None. The witness requests of an item
#: live in the submissions domain, which this domain may not import.
item_page_sections = _signals.signal("evidence-item-page-sections")
