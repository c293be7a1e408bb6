"""The public poll page (`/embed/poll/{slug}`): no login, made to sit in a storefront iframe.

Nobody signs in here, so there is no role to check: what protects the poll is that it
answers only by its random slug and only while published and open (anything else is
"not available", the same for every reason), the rule of one vote per respondent per
poll, and the caps per minute and per day (`models.polls.submit_embed_vote`, counted
in the database so every backend worker shares them). The respondent token is issued
and signed by the server and kept in the browser's localStorage (it survives reloads;
it is not an identity); a token the server did not sign is replaced, never used. A
respondent who clears it is still capped per address. The page shows the question and
options only: no counts, no secrets.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

import reflex as rx

from dashboard.states.listing import Choice
from models.db import read_session
from models.errors import NotFound
from models.polls import (
    AlreadyVoted,
    EmbedPoll,
    InvalidRespondent,
    InvalidVote,
    RateLimited,
    embed_poll,
    is_respondent_token,
    issue_respondent_token,
    submit_embed_vote,
)

log = logging.getLogger(__name__)

ROUTE = "/embed/poll/[poll_id]"
#: Longer than any slug: the path's last part is not even looked up then.
MAX_SLUG = 64
#: Polls this browser voted in, remembered so a revisit says so before any click.
MAX_REMEMBERED = 50


def read_embed_poll(slug: str) -> EmbedPoll:
    with read_session() as session:
        return embed_poll(session, slug)


class EmbedState(rx.State):
    """One visitor's view of one public poll."""

    respondent: str = rx.LocalStorage("", name="rackroom_poll_respondent")
    voted_polls: str = rx.LocalStorage("", name="rackroom_polls_voted")

    #: "loading", "ready", "thanks", "already", "limited", "missing", "error".
    status: str = "loading"
    message: str = ""
    question: str = ""
    options: list[Choice] = []
    choice: str = ""
    sending: bool = False
    embed_slug: str = ""

    def _slug(self) -> str:
        """The poll's slug at the end of the path (/embed/poll/Xq3…)."""
        raw = str(self.router.url.path or "").rstrip("/").rsplit("/", 1)[-1]
        return raw if 0 < len(raw) <= MAX_SLUG and "," not in raw else ""

    def _remembered(self) -> list[str]:
        return [p for p in self.voted_polls.split(",") if p]

    def _remember(self, slug: str) -> None:
        kept = [p for p in self._remembered() if p != slug]
        self.voted_polls = ",".join([*kept, slug][-MAX_REMEMBERED:])

    @rx.event
    async def load(self) -> None:
        """on_load (no login): the question and options, or why there is nothing to vote."""
        self.status, self.message, self.choice, self.sending = "loading", "", "", False
        slug = self._slug()
        self.embed_slug = slug
        if not is_respondent_token(self.respondent):
            self.respondent = issue_respondent_token()
        if not slug:
            self.status = "missing"
            return
        try:
            poll = await rx.run_in_thread(functools.partial(read_embed_poll, slug))
        except NotFound:
            self.status = "missing"
            return
        except Exception:
            log.exception("embed: reading a poll failed")
            self.status = "error"
            self.message = "The poll could not be loaded. Try again in a moment."
            return
        self.question = poll.question
        self.options = [Choice(str(option_id), label) for option_id, label in poll.options]
        if slug in self._remembered():
            self.status = "already"
        else:
            self.status = "ready"

    @rx.event
    def pick(self, value: str) -> None:
        """The answer chosen (nothing is recorded until Vote)."""
        self.choice = value if any(o.value == value for o in self.options) else ""

    @rx.event
    async def vote(self, form: dict[str, str]) -> AsyncIterator[None]:
        """Record the vote: refused (and said why) when already voted, no longer public or
        too many attempts from here."""
        if self.sending or self.status not in ("ready", "error"):
            return
        option = str(form.get("option", "") or self.choice)
        if not option.isdigit():
            self.message = "Pick one of the answers first."
            return
        slug = self._slug()
        self.sending, self.message = True, ""
        yield
        try:
            await rx.run_in_thread(functools.partial(
                submit_embed_vote,
                slug,
                int(option),
                respondent_token=self.respondent,
                client_ip=self.router.session.client_ip or "unknown",
            ))
        except AlreadyVoted:
            self._remember(slug)
            self.status = "already"
        except InvalidRespondent:
            # Not a token we signed (edited storage, or a retired key): a fresh one.
            self.respondent = issue_respondent_token()
            self.message = "Your answer form had expired. Pick your answer and vote again."
        except RateLimited as limited:
            self.status = "limited"
            self.message = (
                f"Too many attempts from here. Please try again in {limited.retry_after} s."
            )
        except InvalidVote:
            self.message = "That answer is not part of this poll any more. Reload the page."
        except NotFound:
            self.status = "missing"
        except Exception:
            log.exception("embed: recording a vote failed")
            self.status = "error"
            self.message = "Your vote could not be recorded. Please try again."
        else:
            self._remember(slug)
            self.status = "thanks"
        self.sending = False

    @rx.event
    def try_again(self) -> None:
        """After "too many attempts": back to the options (the limit still applies)."""
        if self.status == "limited":
            self.status, self.message = "ready", ""
