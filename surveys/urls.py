from django.urls import path

from surveys import views

app_name = "surveys"
urlpatterns = [
    path("r/<str:token>", views.survey_respond, name="respond"),
]
