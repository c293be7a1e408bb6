"""Signing a state tree in, for tests that call handlers directly.

In the app the session token arrives with the websocket's HttpOnly cookie
(`dashboard.session_cookie`); a state built in a test has no websocket, so the token is
sealed into the tab's state the way another worker would find it.
"""

from __future__ import annotations

import reflex as rx

from dashboard.states.auth import AuthState, remember_session_token


def sign_in_state(state: rx.State, token: str) -> AuthState:
    """Make the tab `state` belongs to signed in with `token` ("" signs it out)."""
    auth = state._get_state_from_cache(AuthState)
    remember_session_token(auth, token)
    return auth
