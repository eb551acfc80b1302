"""The Django admin offers no way around the append-only ledger: entries, loyalty accounts (which
would take their entries along) and shops (erased by ``shop/redact`` only) cannot be deleted or
edited there, even by a superuser."""

import pytest

from commerce.models import Shop
from loyalty.models import EntryKind, EntrySource, LedgerEntry
from loyalty.services.ledger import account_for_guest, entry_write
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_a_superuser_cannot_delete_the_ledger_through_the_admin(admin_client):
    # given a shop with a guest's points
    shop = ShopFactory()
    account = account_for_guest(shop=shop, email="noa@example.com")
    entry = entry_write(account=account, kind=EntryKind.EARN, source=EntrySource.ORDER, key="earn:order:1", points=10)
    # when an operator tries each delete page, and the bulk delete action
    pages = [f"/admin/loyalty/ledgerentry/{entry.pk}/delete/", f"/admin/loyalty/account/{account.pk}/delete/",
             f"/admin/commerce/shop/{shop.pk}/delete/"]
    answers = [admin_client.post(page, {"post": "yes"}).status_code for page in pages]
    bulk = admin_client.post("/admin/commerce/shop/", {"action": "delete_selected", "_selected_action": [shop.pk],
                                                       "post": "yes"})
    change = admin_client.post(f"/admin/loyalty/ledgerentry/{entry.pk}/change/", {"points": 9999})
    # then each is refused and the entry is as it was
    assert answers == [403, 403, 403]
    assert change.status_code == 403
    assert bulk.status_code in (200, 302)
    assert LedgerEntry.objects.filter(pk=entry.pk, points=10).exists()
    assert Shop.objects.filter(pk=shop.pk).exists()
