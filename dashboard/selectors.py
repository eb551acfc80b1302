from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from commerce.models import Shop
from dashboard.models import ShopMembership


def member_shops(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Shop]:
    """The shops a logged-in user may see: those they are a member of, and nothing else."""
    if not user.is_authenticated:
        return Shop.objects.none()
    memberships = ShopMembership.objects.filter(user_id=user.pk).values("shop_id")
    return Shop.objects.filter(pk__in=memberships).order_by("name", "domain")
