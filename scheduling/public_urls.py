"""What a patient opens from a message (under /m/): a reminder's confirm-or-cancel page and
a waitlist offer's claim page. The signed or random token in the link is the only key."""

from django.urls import path

from scheduling import public_views

urlpatterns = [
    path("a/<str:token>/", public_views.appointment_link, name="appointment_link"),
    path("w/<str:token>/", public_views.waitlist_claim, name="waitlist_claim"),
]
