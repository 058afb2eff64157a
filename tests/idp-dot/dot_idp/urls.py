"""Routes: DOT under /o/ (issuer http://127.0.0.1:PORT/o), Django's login page, a plain landing page.

RFC 8414 puts the metadata of an issuer with a path at /.well-known/oauth-authorization-server/o, so DOT's
metadata routes are mounted at the root as well (DOT's own docs ask for that when DOT sits under a prefix).
They get their own namespace: DOT builds every endpoint URL with reverse("oauth2_provider:…"), which must
resolve to the /o/ routes only.
"""

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from oauth2_provider import urls as dot_urls


def landing(request):
    """Where DOT's end-session sends the browser when no post_logout_redirect_uri was given."""
    signed_in = request.user.is_authenticated
    body = "signed in" if signed_in else "signed out"
    return HttpResponse(
        f'<!DOCTYPE html><title>DOT test provider</title><p id="session">{body}</p>',
        content_type="text/html; charset=utf-8",
    )


urlpatterns = [
    path("o/", include(dot_urls)),
    path("", include((dot_urls.metadata_urlpatterns, "root_metadata"))),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("", landing, name="landing"),
]
