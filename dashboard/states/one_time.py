"""Secrets a page shows once (a new API key, a temporary password, a poll's webhook
secret): in the state only while their dialog is open, and never written to disk.

Reflex pickles each state after events — to `.states/` (one process) or Redis — so a
secret kept in a field would sit there in clear. `OneTimeSecrets` leaves the named
fields out of every pickle (their defaults are saved instead) and `forget_secrets()`
blanks them when the dialog closes. The browser got the value in the event's delta and
shows it from there; no later event needs it on the server.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OneTimeSecrets:
    """Mixin for page states (`class S(OneTimeSecrets, RoleGuard, rx.State)`), listed
    first so that its `__getstate__` wraps Reflex's.

    A plain class, not a state, so `forget_secrets` is not an event the browser can call.
    """

    #: The fields holding a secret shown once.
    ONE_TIME_SECRETS: ClassVar[tuple[str, ...]] = ()

    def forget_secrets(self) -> None:
        """Blank the one-time secrets (the dialog showing them has closed)."""
        for name in self.ONE_TIME_SECRETS:
            setattr(self, name, self.__fields__[name].default_value())  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # type: ignore[misc]
        for name in self.ONE_TIME_SECRETS:
            if name in state:
                state[name] = self.__fields__[name].default_value()  # type: ignore[attr-defined]
        return state
