"""GET /healthz: liveness for load balancers and docker healthchecks."""

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
    except Exception:
        database = False
    return JsonResponse(
        {"status": "ok" if database else "degraded", "database": database},
        status=200 if database else 503,
    )
