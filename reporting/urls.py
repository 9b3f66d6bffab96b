from django.urls import path

from reporting import views
from reporting.interop import views as interop_views

urlpatterns = [
    path("reports/", views.report_list, name="report_list"),
    path("reports/<int:report_id>/", views.report_detail, name="report_detail"),
    path("reports/<int:report_id>/download/<str:file_format>/", views.report_download, name="report_download"),
    path("settings/data-export/", interop_views.data_export_list, name="data_export_list"),
    path("settings/data-export/<int:export_id>/download/", interop_views.data_export_download, name="data_export_download"),
    path("settings/import/", interop_views.import_list, name="import_list"),
    path("settings/import/<int:import_id>/", interop_views.import_detail, name="import_detail"),
]
