from django.urls import path
from django.views.generic import RedirectView

from . import auth, candidates, review, views

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("join/<uuid:session_uuid>/", views.join, name="join"),
    path("dashboard/", views.lobby, name="dashboard"),
    path("dashboard/login/", auth.LoginView.as_view(), name="dashboard-login"),
    path("dashboard/logout/", auth.LogoutView.as_view(), name="dashboard-logout"),
    path("dashboard/new/", views.new_interview, name="new-interview"),
    path("dashboard/<uuid:session_uuid>/", views.live, name="live"),
    path("dashboard/<uuid:session_uuid>/review/", review.review, name="review"),
    # Candidates, erasure and the CSV export (dashboard/candidates.py).
    path("dashboard/candidates/", candidates.candidates, name="candidates"),
    path("dashboard/candidates/<int:student_id>/", candidates.candidate, name="candidate"),
    path(
        "dashboard/candidates/<int:student_id>/erase/",
        candidates.candidate_erase,
        name="candidate-erase",
    ),
    path(
        "dashboard/candidates/erased/<int:erasure_id>/",
        candidates.erasure_done,
        name="candidate-erased",
    ),
    path("dashboard/interviews.csv", candidates.interviews_csv, name="interviews-csv"),
    path("dashboard/<uuid:session_uuid>/cancel/", views.cancel_session, name="session-cancel"),
    path("dashboard/<uuid:session_uuid>/end/", views.end_session, name="session-end"),
    path(
        "dashboard/<uuid:session_uuid>/end-and-report/",
        views.end_and_report,
        name="session-end-and-report",
    ),
    path("dashboard/<uuid:session_uuid>/report/", views.generate_report, name="session-report"),
    path("dashboard/<uuid:session_uuid>/rotate-link/", views.rotate_link, name="session-rotate"),
    path(
        "dashboard/<uuid:session_uuid>/extra-time/",
        views.set_extra_time,
        name="session-extra-time",
    ),
]
