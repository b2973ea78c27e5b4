from django.urls import path
from django.views.generic import RedirectView

from . import candidates, review, views

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("join/<uuid:session_uuid>/", views.join, name="join"),
    path("dashboard/", views.lobby, name="dashboard"),
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
]
