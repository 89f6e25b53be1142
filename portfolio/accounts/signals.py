"""Events of the accounts domain. Receivers live in the domains that own the data and are
connected in `create_app` (through each domain's `init_app`)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent inside the transaction that deletes an account, before the user row is anonymized,
#: with `user` and `counts` (a dict each receiver adds what it removed to). Each domain removes
#: its own data in its own receiver and queues object deletes after commit.
account_deleted = _signals.signal("account-deleted")

#: Sent inside the transaction in which an account's address becomes proven (an account made
#: confirmed, through an invitation or by an admin, or a confirmation link opened), with
#: `user`. Awards waiting for that address are claimed by it (awards domain).
address_confirmed = _signals.signal("address-confirmed")

#: Sent by the visitor home page to ask what credentials are on offer, with no arguments. One
#: receiver (the site's catalogue, `portfolio.visitors`) answers with the issuers to list; the
#: accounts domain does not import the domains that own the catalogue.
home_page_issuers = _signals.signal("home-page-issuers")
