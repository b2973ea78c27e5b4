from django.contrib import admin
from django.urls import include, path

from .health import healthz
from .metrics import metrics_view

# No /media/ route, in DEBUG or not: recorded answers and reports are served
# only by the authenticated views under /api/ (api/files.py).
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; staff or RT_METRICS_*
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("dashboard.urls")),
]
