"""The words of the shorter messages, translatable in one place (en, he, fa via gettext).

Each entry: subject and paragraphs, formatted with the message context (``first_name``, ``shop``,
``points``, ``tier``, ``code``, ``percent``...).  Longer messages have their own templates.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

COPY: dict[str, dict[str, Any]] = {
    "birthday": {
        "subject": _("Happy birthday, %(first_name)s!"),
        "paragraphs": [_("Everyone at %(shop)s wishes you a happy birthday."),
                       _("Your gift: %(percent)s%% off with the code %(code)s.")],
    },
    "anniversary": {
        "subject": _("A year together, %(first_name)s"),
        "paragraphs": [_("It is a year since your first order at %(shop)s. Thank you!"),
                       _("Your gift: %(percent)s%% off with the code %(code)s.")],
    },
    "review_request": {
        "subject": _("How was your order, %(first_name)s?"),
        "paragraphs": [_("Did it meet your expectations? Did it arrive on time and well packed?"),
                       _("Tell us in a short review: it helps other shoppers and earns you points.")],
    },
    "holiday": {
        # The greeting of the occasion in the shopper's language (campaigns/services/holidays.py).
        "subject": "%(holiday_subject)s",
        "paragraphs": ["%(holiday_subject)s", _("Warm wishes for %(holiday)s from all of us at %(shop)s.")],
    },
    "replenishment": {
        "subject": _("Running low on %(product)s?"),
        "paragraphs": [_("Your %(product)s from %(shop)s should be running out about now."),
                       _("Your gift: %(percent)s%% off with the code %(code)s.")],
    },
    "vip_early_access": {
        "subject": _("Early access for you: %(launch)s"),
        "paragraphs": [_("As one of our best customers you get %(launch)s before everyone else."),
                       _("Your gift: %(percent)s%% off with the code %(code)s.")],
    },
    "review_reward": {
        "subject": _("Thank you for your review, %(first_name)s"),
        "paragraphs": [_("Your review helps other shoppers at %(shop)s."),
                       _("Your gift: %(percent)s%% off with the code %(code)s.")],
    },
    "loyalty_points_earned": {
        "subject": _("You earned %(points)s points"),
        "paragraphs": [_("%(points)s points were added to your account at %(shop)s.")],
    },
    "loyalty_tier_reached": {
        "subject": _("Welcome to %(tier)s!"),
        "paragraphs": [_("You reached the %(tier)s tier at %(shop)s. Enjoy your new perks.")],
    },
    "loyalty_points_expiring": {
        "subject": _("Your points expire soon"),
        "paragraphs": [_("%(points)s of your points at %(shop)s expire soon. Use them before they go.")],
    },
}
