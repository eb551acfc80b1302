from django.urls import path

from dashboard import plan, views
from dashboard.settings_pages import badges as badge_pages
from dashboard.settings_pages import customers as customer_pages
from dashboard.settings_pages import data as data_pages
from dashboard.settings_pages import email as email_pages
from dashboard.settings_pages import flows as flow_pages
from dashboard.settings_pages import holidays as holiday_pages
from dashboard.settings_pages import onboarding as onboarding_pages
from dashboard.settings_pages import program as program_pages
from dashboard.settings_pages import referrals as referral_pages
from dashboard.settings_pages import rewards as reward_pages
from dashboard.settings_pages import segments as segment_pages
from dashboard.settings_pages import surveys as survey_pages
from dashboard.settings_pages import tiers as tier_pages
from dashboard.settings_pages import widget as widget_pages

app_name = "dashboard"
urlpatterns = [
    path("", onboarding_pages.index, name="index"),
    path("home/", onboarding_pages.home, name="home"),
    path("onboarding/", onboarding_pages.onboarding, name="onboarding"),
    path("overview/", views.overview, name="overview"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("segments/", views.segments, name="segments"),
    path("segments/<str:key>/", views.segment, name="segment"),
    path("loyalty/", views.loyalty, name="loyalty"),
    path("flows/", views.flows, name="flows"),
    path("surveys/", views.surveys, name="surveys"),
    path("plan/", plan.plan, name="plan"),
    path("plan/upgrade/", plan.plan_upgrade, name="plan_upgrade"),
    path("plan/cancel/", plan.plan_cancel, name="plan_cancel"),
    path("plan/return/", plan.plan_return, name="plan_return"),
    path("settings/program/", program_pages.settings_program, name="settings_program"),
    path("settings/rewards/", reward_pages.settings_rewards, name="settings_rewards"),
    path("settings/rewards/<int:reward_id>/", reward_pages.settings_reward, name="settings_reward"),
    path("settings/tiers/", tier_pages.settings_tiers, name="settings_tiers"),
    path("settings/referrals/", referral_pages.settings_referrals, name="settings_referrals"),
    path("settings/badges/", badge_pages.settings_badges, name="settings_badges"),
    path("settings/customers/", customer_pages.settings_customers, name="settings_customers"),
    path("settings/customers/<int:account_id>/", customer_pages.settings_customer, name="settings_customer"),
    path("settings/surveys/", survey_pages.settings_surveys, name="settings_surveys"),
    path("settings/flows/", flow_pages.settings_flows, name="settings_flows"),
    path("settings/flows/<str:key>/", flow_pages.settings_flow, name="settings_flow"),
    path("settings/flows/<str:key>/steps/<int:position>/email/<str:language>/", email_pages.settings_email,
         name="settings_email"),
    path("settings/branding/", email_pages.settings_branding, name="settings_branding"),
    path("settings/holidays/", holiday_pages.settings_holidays, name="settings_holidays"),
    path("settings/segments/", segment_pages.settings_segments, name="settings_segments"),
    path("settings/data/", data_pages.settings_data, name="settings_data"),
    path("settings/widget/", widget_pages.settings_widget, name="settings_widget"),
    path("shops/", views.shops, name="shops"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
