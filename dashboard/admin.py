from django.contrib import admin

from dashboard.models import ShopMembership


@admin.register(ShopMembership)
class ShopMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "shop", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "shop__domain")
    raw_id_fields = ("user", "shop")
