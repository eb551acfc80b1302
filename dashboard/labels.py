"""Names stored in English by another app (the flow presets), marked here for translation.

Predefined segments need nothing here: ``segments`` names them in the active language.

A merchant's own names are shown as they wrote them; these are only the presets' names.
"""

from django.utils.translation import gettext, gettext_noop

FLOW_PRESET_NAMES = (
    gettext_noop("Order follow-up: thank you"),
    gettext_noop("Bounce-back after the first order"),
    gettext_noop("Order follow-up: how was it? (review request)"),
    gettext_noop("Birthday greeting with a gift"),
    gettext_noop("First-order anniversary"),
    gettext_noop("Loyalty notice: points earned"),
    gettext_noop("Loyalty notice: tier reached"),
    gettext_noop("Loyalty notice: points expiring"),
    gettext_noop("Holiday greetings"),
    gettext_noop("Replenishment reminder"),
    gettext_noop("VIP early access"),
    gettext_noop("Thank you for your review (discount on the next order)"),
    gettext_noop("Post-purchase upsell by SMS"),
    gettext_noop("Win-back: we miss you"),
)


def translated(name: str) -> str:
    """The stored name in the active language when it is one of the presets' names."""
    return gettext(name) if name else name
