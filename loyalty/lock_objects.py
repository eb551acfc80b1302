"""Row locks for the loyalty app.  Lock order: account, then anything else (never the reverse)."""

from loyalty.models import Account


def account_lock(*, account_id: int) -> Account:
    """Lock one account row for the rest of the transaction (redemptions, reversals)."""
    return Account.objects.select_for_update().get(pk=account_id)
