"""Project URLs. Every clinic page lives under /c/<clinic_code>/; every API call under
/api/v1/. Apps add their clinic pages to ``clinic_patterns`` and their API routers to
``clinicos.api.api``."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path

from billing.api import router as billing_router
from clinical import order_views as clinical_order_views
from clinical.api import router as clinical_router
from clinical.orders_api import router as orders_router
from clinicos import settings_views, views
from clinicos.api import api
from clinicos.messaging import urls as messaging_urls
from clinicos.messaging.api import router as messaging_router
from clinicos.notifications_api import router as notifications_router
from clinicos.staff_api import router as clinic_admin_router
from leads.api import public_router as public_leads_router
from leads.api import router as leads_router
from patients.api import router as patients_router
from portal.api import router as portal_router
from reporting.api import router as reporting_router
from reporting.interop.api import router as fhir_router
from scheduling import views as scheduling_views
from scheduling.api import router as scheduling_router
from scheduling.outreach_api import router as outreach_router

# Routers are mounted at /clinics; their paths start with "/{code}/…" (ninja reads path
# parameters from operation paths, not from router prefixes).
api.add_router("/clinics", clinic_admin_router)
api.add_router("/clinics", patients_router)
api.add_router("/clinics", leads_router)
api.add_router("/clinics", scheduling_router)
api.add_router("/clinics", clinical_router)
api.add_router("/clinics", orders_router)
api.add_router("/clinics", billing_router)
api.add_router("/clinics", reporting_router)
api.add_router("/clinics", fhir_router)
api.add_router("/clinics", notifications_router)
api.add_router("/clinics", messaging_router)
api.add_router("/clinics", outreach_router)
api.add_router("/public", public_leads_router)
api.add_router("/portal", portal_router)

# The admin's own login would bypass allauth's rate limits and two-factor step.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "ClinicOS administration"
admin.site.site_title = "ClinicOS admin"
admin.site.index_title = "Platform administration"

clinic_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("settings/", settings_views.clinic_settings, name="clinic_settings"),
    path("settings/staff/", settings_views.staff_list, name="staff_list"),
    path("settings/staff/<int:member_id>/", settings_views.staff_edit, name="staff_edit"),
    path("settings/staff/<int:member_id>/resend-invitation/", settings_views.staff_invitation_resend, name="staff_invitation_resend"),
    path("settings/doctors/", settings_views.doctor_list, name="doctor_list"),
    path("settings/doctors/<int:member_id>/", settings_views.doctor_profile_edit, name="doctor_profile_edit"),
    path("settings/departments/", settings_views.department_list, name="department_list"),
    path("settings/departments/<int:department_id>/", settings_views.department_edit, name="department_edit"),
    path("settings/departments/<int:department_id>/delete/", settings_views.department_delete, name="department_delete"),
    path("settings/resources/", settings_views.resource_list, name="resource_list"),
    path("settings/resources/<int:resource_id>/", settings_views.resource_edit, name="resource_edit"),
    path("my-doctor-profile/", settings_views.my_doctor_profile, name="my_doctor_profile"),
    path("audit/", views.audit_log, name="audit_log"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:notification_id>/open/", views.notification_open, name="notification_open"),
    path("", include("patients.urls")),
    path("", include("leads.urls")),
    path("", include("scheduling.urls")),
    path("", include("clinical.urls")),
    path("", include("billing.urls")),
    path("", include("reporting.urls")),
    path("", include("portal.staff_urls")),
    path("", include(messaging_urls.clinic_patterns)),
]

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page says (a PDF, the API's docs).
    path("favicon.ico", views.favicon, name="favicon"),
    path("clinics/", views.clinic_picker, name="clinic_picker"),
    path("c/<str:clinic_code>/", include(clinic_patterns)),
    path("accounts/", include("allauth.urls")),
    path("portal/", include("portal.urls")),
    path("admin/", admin.site.urls),
    path("ical/<str:token>.ics", scheduling_views.calendar_feed, name="calendar_feed"),
    path("rx/<str:token>/", clinical_order_views.prescription_verify, name="prescription_verify"),
    path("", include(messaging_urls.public_patterns)),
    path("m/", include("scheduling.public_urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/", views.api_not_found, name="api_not_found"),
]

handler400 = "clinicos.views.bad_request"
handler403 = "clinicos.views.permission_denied"
handler404 = "clinicos.views.page_not_found"
handler500 = "clinicos.views.server_error"
