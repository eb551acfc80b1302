"""Row locks for the loyalty app.  Lock order: account, then anything else (never the reverse)."""

from loyalty.models import Account, WidgetSettings


def account_lock(*, account_id: int) -> Account:
    """Lock one account row for the rest of the transaction (redemptions, reversals)."""
    return Account.objects.select_for_update().get(pk=account_id)


def widget_settings_lock(*, shop_id: int) -> WidgetSettings:
    """Lock the shop's widget settings row (the designer's saves; nothing else locks it)."""
    return WidgetSettings.objects.select_for_update().get(shop_id=shop_id)
