from django.urls import path

from integrations.woocommerce import views

urlpatterns = [
    path("connect", views.woocommerce_connect, name="woocommerce-connect"),
    path("callback", views.woocommerce_callback, name="woocommerce-callback"),
    path("connected", views.woocommerce_connected, name="woocommerce-connected"),
    path("plugin/claim", views.plugin_claim, name="woocommerce-plugin-claim"),
    path("plugin/disconnect", views.plugin_disconnect, name="woocommerce-plugin-disconnect"),
    path("admin", views.plugin_admin, name="woocommerce-admin"),
    path("privacy/export", views.privacy_export, name="woocommerce-privacy-export"),
    path("privacy/erase", views.privacy_erase, name="woocommerce-privacy-erase"),
]
