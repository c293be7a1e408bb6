"""The public poll page a storefront puts in an iframe: a question, its answers, Vote.

No sidebar, no top bar, no login: one card that fits a narrow frame, says clearly what
happened (thanks / already voted / too many attempts / not available) and never shows counts.
"""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import column
from dashboard.registry import page
from dashboard.states.embed import EmbedState

S = EmbedState
TITLE = "Poll"


def _outcome(icon: str, colour: str, title: str, body: str | rx.Var, test_id: str) -> rx.Component:
    return column(
        rx.center(
            rx.icon(icon, size=22, color=rx.color(colour, 11)),
            width="44px", height="44px", border_radius="999px", background=rx.color(colour, 3),
        ),
        rx.text(title, size="4", weight="bold"),
        rx.text(body, size="2", color_scheme="gray"),
        align="center", text_align="center", padding_y="12px", role="status", data_testid=test_id,
        gap="2",
    )


def _form() -> rx.Component:
    return rx.form(
        column(
            rx.radio_cards.root(
                rx.foreach(
                    S.options,
                    lambda option: rx.radio_cards.item(
                        rx.text(option.label, size="2", weight="medium"),
                        value=option.value, justify_content="flex-start",
                    ),
                ),
                name="option", value=S.choice, on_value_change=S.pick, columns="1", gap="2",
                size="1", width="100%", aria_label="Answers",
            ),
            rx.cond(
                S.message != "",
                rx.text(S.message, size="2", color=rx.color("red", 11), role="alert"),
            ),
            rx.button(
                "Vote", type="submit", size="3", width="100%", loading=S.sending,
                disabled=S.choice == "",
            ),
            rx.text(
                "One vote per person. We never show who voted.",
                size="1", color_scheme="gray", text_align="center", width="100%",
            ),
        ),
        on_submit=S.vote, reset_on_submit=False, width="100%",
    )


def _body() -> rx.Component:
    return rx.match(
        S.status,
        ("loading", rx.center(rx.spinner(size="3"), padding_y="32px", width="100%")),
        ("ready", _form()),
        ("error", _form()),
        (
            "thanks",
            _outcome(
                "circle-check", "green", "Thanks for voting!",
                "Your answer helps decide what we stock next.",
                "embed-thanks",
            ),
        ),
        (
            "already",
            _outcome(
                "check-check", "indigo", "You have already voted",
                "One vote per person in this poll. Thank you!",
                "embed-already",
            ),
        ),
        (
            "limited",
            rx.vstack(
                _outcome("timer", "amber", "Too many attempts", S.message, "embed-limited"),
                rx.button("Try again", on_click=S.try_again, variant="soft", width="100%"),
                width="100%",
            ),
        ),
        _outcome(
            "circle-help", "gray", "This poll is not available",
            "It may have ended, or the link is not quite right. Thank you for your interest.",
            "embed-missing",
        ),
    )


#: The frame shows the storefront behind the card (only on this page, not the app's).
TRANSPARENT_FRAME = "html, body, .radix-themes { background: transparent !important; }"


@page(routes.EMBED_POLL_PAGE, TITLE, public=True, load=S.load)
def embed_poll_page() -> rx.Component:
    return rx.box(
        rx.el.style(TRANSPARENT_FRAME),
        rx.card(
            column(
                rx.cond(
                    (S.question != "") & (S.status != "missing"),
                    rx.heading(
                        S.question, as_="h1", size="4", weight="bold",
                        data_testid="embed-question",
                    ),
                ),
                _body(),
                gap="4",
            ),
            size="3", width="100%", max_width="520px", margin_x="auto",
        ),
        padding="8px", width="100%",
    )



#: Runs first in every page's <head>. A storefront's iframe is a third-party frame, and a
#: browser that blocks third-party cookies (any private window) denies it localStorage
#: and sessionStorage: reading them throws, and the app would fail to start. Then both
#: are replaced by in-memory stand-ins: the page works, and a respondent id lasts as
#: long as the page (the per-address rate limit still caps repeat votes).
STORAGE_FALLBACK = """
(function () {
  ["localStorage", "sessionStorage"].forEach(function (name) {
    try { window[name].getItem("rackroom-probe"); return; } catch (denied) {}
    var items = {};
    var memory = {
      getItem: function (k) { return Object.prototype.hasOwnProperty.call(items, k)
        ? items[k] : null; },
      setItem: function (k, v) { items[k] = String(v); },
      removeItem: function (k) { delete items[k]; },
      clear: function () { items = {}; },
      key: function (i) { var keys = Object.keys(items); return i < keys.length
        ? keys[i] : null; },
      get length() { return Object.keys(items).length; }
    };
    try { Object.defineProperty(window, name, { value: memory, configurable: true }); }
    catch (ignored) {}
  });
})();
"""


def storage_fallback() -> rx.Component:
    """The <script> of `STORAGE_FALLBACK`, for the app's head components."""
    return rx.el.script(STORAGE_FALLBACK)


__all__ = ["TITLE", "embed_poll_page", "storage_fallback"]
