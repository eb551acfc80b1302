from django.contrib.auth.models import User

from commerce.models import Shop
from dashboard.models import MembershipRole, ShopMembership


def membership_grant(*, user: User, shop: Shop, role: str = MembershipRole.STAFF) -> ShopMembership:
    """Let ``user`` open ``shop``'s dashboard (idempotent; a second grant changes the role)."""
    membership, _ = ShopMembership.objects.update_or_create(user=user, shop=shop, defaults={"role": role})
    return membership
