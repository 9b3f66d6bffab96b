"""Response headers every clinic page and clinic API answer needs."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control

# Everything under these paths may show a patient's record.
PRIVATE_PREFIXES = ("/c/", "/api/v1/clinics/", "/ical/", "/portal/", "/api/v1/portal/")


class PrivateCachingMiddleware:
    """Charts, lists and patient JSON must not be kept by a browser's or a proxy's cache
    (a shared front-desk computer's back button, a corporate proxy): no-store, private."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PRIVATE_PREFIXES):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True, no_store=True)
        return response


class OutOfRangeIdMiddleware:
    """An id beyond 64 bits in a URL or body names no row. PostgreSQL simply finds
    nothing; SQLite cannot even compare it and raises OverflowError, which must not be a
    500: answer 404 (JSON under /api/)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OverflowError):
            from clinicos.views import page_not_found

            return page_not_found(request)
        return None


SESSION_TOUCH_SECONDS = 60


class SessionTouchMiddleware:
    """The idle timeout slides with activity, without writing the session on every request:
    a signed-in session is saved (its expiry pushed ``SESSION_COOKIE_AGE`` ahead) when it
    was last saved a minute ago or more. Sits after ``SessionMiddleware``, which saves it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and ("_auth_user_id" in session or "portal" in session):
            now = int(time.time())
            if now - session.get("_touched", 0) >= SESSION_TOUCH_SECONDS:
                session["_touched"] = now
        return response


class NulInQueryMiddleware:
    """A NUL character in an API query string (``?service_type=%00``) is dropped before any
    view reads it: PostgreSQL refuses it in any text comparison (a 500 before), and a
    search box that strips it answers as if it were not typed. (The pages' search forms
    refuse it with a message of their own.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            cleaned = request.GET.copy()
            for key in list(cleaned):
                cleaned.setlist(key, [value.replace("\x00", "") for value in cleaned.getlist(key)])
            request.GET = cleaned  # type: ignore[assignment]
        return self.get_response(request)
