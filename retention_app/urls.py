from django.contrib import admin
from django.urls import include, path

from campaigns import api as campaigns_api
from campaigns import email_api as campaigns_email_api
from campaigns import views as campaigns
from integrations import views as integrations
from integrations.platforms import platforms_registered
from loyalty import api as loyalty
from loyalty import merchant_api as loyalty_admin
from loyalty import widget_api as loyalty_widget
from segments import api as segments_api
from storefront import views as storefront
from surveys import api as surveys_api

urlpatterns = [
    path("admin/", admin.site.urls),
    # The email provider's tracking webhooks: each served only when it can be authenticated.
    path("anymail/", include("integrations.email_webhooks")),
    # One inbox for every platform; each platform's own pages (install/connect, callback) under
    # /<platform>/, from its registration (integrations.platforms).
    path("webhooks/<slug:platform>", integrations.platform_webhook, name="platform-webhook"),
    *(path(f"{registration.platform}/", include(registration.urls))
      for registration in platforms_registered() if registration.urls),
    path("api/shop", integrations.ShopStatusApi.as_view(), name="api-shop"),
    path("api/privacy/exports", integrations.DataExportListApi.as_view(), name="api-exports"),
    path("api/privacy/exports/<int:export_id>", integrations.DataExportDetailApi.as_view(),
         name="api-export"),
    path("api/loyalty/program", loyalty_admin.ProgramApi.as_view()),
    path("api/loyalty/rules", loyalty_admin.RuleListApi.as_view()),
    path("api/loyalty/rules/<str:kind>", loyalty_admin.RuleUpdateApi.as_view()),
    path("api/loyalty/rewards", loyalty_admin.RewardListApi.as_view()),
    path("api/loyalty/rewards/<int:reward_id>", loyalty_admin.RewardDetailApi.as_view()),
    path("api/loyalty/tiers", loyalty_admin.TierSchemeApi.as_view()),
    path("api/loyalty/tiers/<int:scheme_id>/dry-run", loyalty_admin.TierSchemeDryRunApi.as_view()),
    path("api/loyalty/tiers/<int:scheme_id>/activate", loyalty_admin.TierSchemeActivateApi.as_view()),
    path("api/loyalty/referrals", loyalty_admin.ReferralListApi.as_view()),
    path("api/loyalty/referrals/<int:referral_id>/review", loyalty_admin.ReferralReviewApi.as_view()),
    path("api/loyalty/referral-settings", loyalty_admin.ReferralSettingsApi.as_view()),
    path("api/loyalty/badges", loyalty_admin.BadgeListApi.as_view()),
    path("api/loyalty/badges/<int:badge_id>", loyalty_admin.BadgeDetailApi.as_view()),
    path("api/loyalty/challenges", loyalty_admin.ChallengeListApi.as_view()),
    path("api/loyalty/challenges/<int:challenge_id>", loyalty_admin.ChallengeDetailApi.as_view()),
    path("api/loyalty/customers", loyalty_admin.CustomerLookupApi.as_view()),
    path("api/loyalty/customers/<int:account_id>", loyalty_admin.CustomerDetailApi.as_view()),
    path("api/loyalty/customers/<int:account_id>/adjust", loyalty_admin.CustomerAdjustApi.as_view()),
    path("api/loyalty/backfill", loyalty_admin.BackfillApi.as_view()),
    path("api/loyalty/report", loyalty_admin.PointsReportApi.as_view()),
    path("api/loyalty/reviews", loyalty_admin.ReviewRecordApi.as_view()),
    path("api/loyalty/widget", loyalty_widget.WidgetSettingsApi.as_view()),
    path("proxy/loyalty", loyalty.ProxyLoyaltyApi.as_view(), name="proxy-loyalty"),
    path("proxy/loyalty/redeem", loyalty.ProxyRedeemApi.as_view(), name="proxy-loyalty-redeem"),
    path("proxy/loyalty/social", loyalty.ProxySocialApi.as_view(), name="proxy-loyalty-social"),
    path("proxy/referrals", loyalty.ProxyReferralClaimApi.as_view(), name="proxy-referrals"),
    path("proxy/referrals/offer", loyalty.ProxyReferralOfferApi.as_view(), name="proxy-referral-offer"),
    path("proxy/referrals/code", loyalty.ProxyFriendCodeApi.as_view(), name="proxy-referral-code"),
    path("storefront/<path:path>", storefront.asset, name="storefront-asset"),
    path("u/<str:token>", campaigns.unsubscribe_link, name="unsubscribe"),
    path("webhooks/sms/twilio", campaigns.sms_inbound_twilio, name="sms-inbound-twilio"),
    path("api/campaigns/flows", campaigns_api.FlowListApi.as_view()),
    path("proxy/upsell", campaigns_api.ProxyUpsellApi.as_view(), name="proxy-upsell"),
    path("api/campaigns/vip-early-access", campaigns_api.VipEarlyAccessApi.as_view()),
    path("api/campaigns/holidays", campaigns_api.HolidayCalendarApi.as_view()),
    path("api/campaigns/customers/<int:customer_id>/consent", campaigns_api.CustomerConsentApi.as_view()),
    path("api/campaigns/flows/<str:key>/enable", campaigns_api.FlowEnableApi.as_view()),
    path("api/campaigns/flows/<str:key>", campaigns_api.FlowDetailApi.as_view()),
    path("api/campaigns/flows/<str:key>/preview", campaigns_api.FlowPreviewApi.as_view()),
    path("api/campaigns/flows/<str:key>/apply-history", campaigns_api.FlowApplyHistoryApi.as_view()),
    path("api/campaigns/flows/<str:key>/steps/<int:position>/email/<str:language>",
         campaigns_email_api.EmailContentApi.as_view()),
    path("api/campaigns/branding", campaigns_email_api.BrandingApi.as_view()),
    path("proxy/surveys", surveys_api.ProxySurveyListApi.as_view(), name="proxy-surveys"),
    path("proxy/surveys/<int:survey_id>", surveys_api.ProxySurveyAnswerApi.as_view(), name="proxy-survey-answer"),
    path("api/surveys", surveys_api.SurveyListApi.as_view()),
    path("api/surveys/<int:survey_id>/activate", surveys_api.SurveyActivateApi.as_view()),
    path("api/surveys/<int:survey_id>", surveys_api.SurveyDetailApi.as_view()),
    path("api/surveys/<int:survey_id>/questions", surveys_api.QuestionListApi.as_view()),
    path("api/surveys/<int:survey_id>/questions/<int:question_id>", surveys_api.QuestionDetailApi.as_view()),
    path("api/segments", segments_api.SegmentListApi.as_view()),
    path("api/segments/settings", segments_api.SegmentSettingsApi.as_view()),
    path("api/segments/preview", segments_api.SegmentPreviewApi.as_view()),
    path("api/segments/<slug:key>/customers", segments_api.SegmentCustomersApi.as_view()),
    path("api/segments/<slug:key>", segments_api.SegmentDetailApi.as_view()),
    path("surveys/", include("surveys.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the dashboard's language switcher
]
