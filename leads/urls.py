from django.urls import path

from leads import views

urlpatterns = [
    path("leads/", views.lead_board, name="lead_board"),
    path("leads/list/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_add, name="lead_add"),
    path("leads/queue/", views.cro_queue, name="cro_queue"),
    path("leads/follow-ups/", views.follow_ups, name="lead_follow_ups"),
    path("leads/dashboard/", views.lead_dashboard, name="lead_dashboard"),
    path("leads/settings/", views.lead_settings, name="lead_settings"),
    path("leads/settings/keys/<int:key_id>/revoke/", views.api_key_revoke, name="lead_api_key_revoke"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:lead_id>/edit/", views.lead_edit, name="lead_edit"),
    path("leads/<int:lead_id>/move/", views.lead_move, name="lead_move"),
    path("leads/<int:lead_id>/activity/", views.lead_log_activity, name="lead_log_activity"),
    path("leads/<int:lead_id>/convert/", views.lead_convert, name="lead_convert"),
]
