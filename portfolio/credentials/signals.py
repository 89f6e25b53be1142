"""Events of the credentials domain for the domains above it (awards), so that credentials never
import them. Receivers are connected in `create_app` (through each domain's `init_app`)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent inside the transaction that edits a credential, with `credential`, before its content
#: changes: badges already issued keep what they were issued with (awards freezes it as a
#: version). What receivers write commits (or rolls back) with the edit.
credential_changing = _signals.signal("credential-changing")
#: Sent while a credential's edit form is rendered, with `credential`; each receiver returns a
#: dict of values for the form's template (awards: `issued_showing`, `next_version`).
credential_edit_context = _signals.signal("credential-edit-context")
