from django.contrib import admin
from django.urls import path

from integrations import views as integrations
from loyalty import api as loyalty

urlpatterns = [
    path("admin/", admin.site.urls),
    path("shopify/install", integrations.shopify_install, name="shopify-install"),
    path("shopify/callback", integrations.shopify_callback, name="shopify-callback"),
    path("shopify/installed", integrations.shopify_installed, name="shopify-installed"),
    path("webhooks/shopify", integrations.shopify_webhook, name="shopify-webhook"),
    path("api/shop", integrations.ShopStatusApi.as_view(), name="api-shop"),
    path("api/privacy/exports", integrations.DataExportListApi.as_view(), name="api-exports"),
    path("api/privacy/exports/<int:export_id>", integrations.DataExportDetailApi.as_view(),
         name="api-export"),
    path("proxy/loyalty", loyalty.ProxyLoyaltyApi.as_view(), name="proxy-loyalty"),
    path("proxy/loyalty/redeem", loyalty.ProxyRedeemApi.as_view(), name="proxy-loyalty-redeem"),
]
