"""Staff logins for the dashboard: the login and logout pages and the
staff-only guard (the throttle is interview_rt/logins.py)."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse

from .forms import StaffLoginForm


def is_staff(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def staff_required(view):
    """Staff only; anyone else goes to the dashboard's login page (which tells a
    logged-in non-staff user plainly why)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if is_staff(request.user):
            return view(request, *args, **kwargs)
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('dashboard-login')}?{query}")

    return guarded


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = False

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["signed_in_not_staff"] = user.is_authenticated and not is_staff(user)
        return context

    def get_default_redirect_url(self):
        return settings.LOGIN_REDIRECT_URL


class LogoutView(auth_views.LogoutView):
    next_page = "dashboard-login"
