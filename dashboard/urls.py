from django.urls import path
from django.views.generic import RedirectView

from . import review, views

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("join/<uuid:session_uuid>/", views.join, name="join"),
    path("dashboard/", views.lobby, name="dashboard"),
    path("dashboard/<uuid:session_uuid>/", views.live, name="live"),
    path("dashboard/<uuid:session_uuid>/review/", review.review, name="review"),
]
