from django.urls import path

from integrations.shopify import views

urlpatterns = [
    path("install", views.shopify_install, name="shopify-install"),
    path("callback", views.shopify_callback, name="shopify-callback"),
    path("installed", views.shopify_installed, name="shopify-installed"),
    path("bounce", views.bounce, name="shopify-bounce"),
]
