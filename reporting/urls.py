from django.urls import path

from reporting import views

urlpatterns = [
    path("reports/", views.report_list, name="report_list"),
    path("reports/<int:report_id>/", views.report_detail, name="report_detail"),
    path("reports/<int:report_id>/download/<str:file_format>/", views.report_download, name="report_download"),
]
