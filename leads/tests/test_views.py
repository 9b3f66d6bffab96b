import pytest

from clinicos.roles import Role
from leads.models import Lead, LeadActivity, LeadApiKey, LeadStatus
from leads.tests.factories import LeadFactory
from patients.models import Patient

pytestmark = pytest.mark.django_db
ADD = {"name": "Geetha Ramesh", "phone": "98450 77665", "source": "Walk-In", "inquiry": "IVF", "gender": "female", "age": "34"}


def test_add_lead_in_the_modal(login, front_desk, clinic):
    client = login(front_desk)
    form = client.get(f"/c/{clinic.code}/leads/new/", HTTP_HX_REQUEST="true")
    assert "<html" not in form.content.decode() and 'name="phone"' in form.content.decode()
    response = client.post(f"/c/{clinic.code}/leads/new/", ADD, HTTP_HX_REQUEST="true")
    lead = Lead.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == f"/c/{clinic.code}/leads/{lead.pk}/"
    assert lead.phone == "+919845077665" and lead.created_by == front_desk


def test_add_lead_with_bad_input_shows_errors_in_the_modal(login, front_desk, clinic):
    response = login(front_desk).post(f"/c/{clinic.code}/leads/new/", {**ADD, "phone": "nope", "source": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    body = response.content.decode()
    assert "valid phone number" in body and "This field is required" in body
    assert not Lead.objects.exists()


def test_duplicate_lead_is_flagged_on_its_page(login, front_desk, clinic):
    client = login(front_desk)
    client.post(f"/c/{clinic.code}/leads/new/", ADD)
    client.post(f"/c/{clinic.code}/leads/new/", ADD)
    second = Lead.objects.order_by("pk").last()
    assert "Possible duplicate" in client.get(f"/c/{clinic.code}/leads/{second.pk}/").content.decode()


def test_each_board_column_shows_its_newest_thirty_in_a_bounded_number_of_queries(login, front_desk, clinic, django_assert_max_num_queries):
    import datetime

    from django.utils import timezone

    start = timezone.now() - datetime.timedelta(days=40)
    for n in range(35):
        LeadFactory(clinic=clinic, status="new", name=f"New {n:02d}", date_added=start + datetime.timedelta(days=n))
    for status in ("contacted", "stalling", "converted", "lost"):
        LeadFactory(clinic=clinic, status=status)
    client = login(front_desk)
    client.get(f"/c/{clinic.code}/leads/")
    # The counts, one short read per column, the page's own and the header's.
    with django_assert_max_num_queries(12):
        response = client.get(f"/c/{clinic.code}/leads/")
    columns = {column["status"]: column for column in response.context["columns"]}
    assert columns["new"]["count"] == 35 and len(columns["new"]["cards"]) == 30
    assert [lead.name for lead in columns["new"]["cards"]][:2] == ["New 34", "New 33"]  # newest first
    assert all(len(columns[status]["cards"]) == 1 for status in ("contacted", "stalling", "converted", "lost"))


def test_a_big_boards_counts_are_kept_a_minute_and_a_small_ones_are_exact(login, front_desk, clinic, monkeypatch):
    from leads import selectors

    client = login(front_desk)
    leads = [LeadFactory(clinic=clinic, status="contacted") for _ in range(3)]

    def contacted():
        board = client.get(f"/c/{clinic.code}/leads/")
        return next(c for c in board.context["columns"] if c["status"] == "contacted")["count"]

    assert contacted() == 3
    client.post(f"/c/{clinic.code}/leads/{leads[0].pk}/move/", {"to_status": "stalling", "from": "board"})
    assert contacted() == 2  # a small board: the moved card shows in the counts at once
    monkeypatch.setattr(selectors, "BOARD_COUNTS_KEPT_FROM", 2)
    assert contacted() == 2
    LeadFactory(clinic=clinic, status="contacted")
    assert contacted() == 2  # a "big" board: the counts are a minute old at most
    assert client.get(f"/c/{clinic.code}/leads/?source=Website").status_code == 200  # other filters, other counts


def test_board_shows_columns_with_counts_and_moves_cards(login, front_desk, clinic, make_member, django_assert_max_num_queries):
    make_member(Role.CRO)
    client = login(front_desk)
    leads = [LeadFactory(clinic=clinic, status="contacted") for _ in range(12)]
    # The page, its leads and counts, and the bell's unread count drawn with the header.
    with django_assert_max_num_queries(12):
        response = client.get(f"/c/{clinic.code}/leads/")
    contacted = next(c for c in response.context["columns"] if c["status"] == "contacted")
    assert contacted["count"] == 12
    moved = client.post(f"/c/{clinic.code}/leads/{leads[0].pk}/move/", {"to_status": "stalling", "from": "board"}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and 'id="board"' in moved.content.decode()
    assert Lead.objects.get(pk=leads[0].pk).status == "stalling"


def test_a_forbidden_move_is_refused_with_a_clear_message(login, front_desk, clinic):
    lead = LeadFactory(clinic=clinic, status="new")
    client = login(front_desk)
    response = client.post(f"/c/{clinic.code}/leads/{lead.pk}/move/", {"to_status": "stalling", "from": "board"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "cannot move from" in response.content.decode()
    response = client.post(f"/c/{clinic.code}/leads/{lead.pk}/move/", {"to_status": "lost"}, follow=True)
    assert "Say why the lead was lost" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == "new"


def test_log_a_call_with_a_follow_up(login, front_desk, clinic):
    lead = LeadFactory(clinic=clinic)
    client = login(front_desk)
    client.post(
        f"/c/{clinic.code}/leads/{lead.pk}/activity/",
        {"kind": "call", "outcome": "call_back", "note": "Evening", "next_follow_up": "2099-01-01"},
    )
    assert LeadActivity.objects.filter(lead=lead, kind="call", outcome="call_back").exists()
    assert str(Lead.objects.get(pk=lead.pk).next_follow_up) == "2099-01-01"
    past = client.post(
        f"/c/{clinic.code}/leads/{lead.pk}/activity/", {"kind": "call", "note": "x", "next_follow_up": "2000-01-01"}, follow=True
    )
    assert "cannot be in the past" in past.content.decode()


def test_convert_page_is_prefilled_and_converts_once(login, front_desk, clinic):
    lead = LeadFactory(clinic=clinic, name="Sangeetha Pillai", phone="+919845011111", status="contacted", age=32)
    client = login(front_desk)
    page = client.get(f"/c/{clinic.code}/leads/{lead.pk}/convert/")
    assert page.context["form"].initial["first_name"] == "Sangeetha" and page.context["form"].initial["last_name"] == "Pillai"
    data = {"first_name": "Sangeetha", "last_name": "Pillai", "mobile": "+919845011111", "gender": "female", "date_of_birth": "1994-01-01"}
    response = client.post(f"/c/{clinic.code}/leads/{lead.pk}/convert/", data)
    patient = Patient.objects.get()
    assert response.status_code == 302 and response.url == f"/c/{clinic.code}/patients/{patient.pk}/"
    again = client.post(f"/c/{clinic.code}/leads/{lead.pk}/convert/", data)
    assert again.status_code == 302 and Patient.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONVERTED


def test_convert_page_with_bad_input_converts_nothing(login, front_desk, clinic):
    lead = LeadFactory(clinic=clinic, status="contacted")
    response = login(front_desk).post(
        f"/c/{clinic.code}/leads/{lead.pk}/convert/", {"first_name": "A", "mobile": "1", "gender": "female", "date_of_birth": "2999-01-01"}
    )
    assert response.status_code == 400 and not Patient.objects.exists()
    assert Lead.objects.get(pk=lead.pk).status == "contacted"


def test_cro_queue_follow_ups_and_dashboard_pages(login, make_member, clinic):
    cro = make_member(Role.CRO)
    LeadFactory(clinic=clinic, status="stalling", assigned_to=cro, name="Waiting Wanda")
    client = login(cro)
    assert "Waiting Wanda" in client.get(f"/c/{clinic.code}/leads/queue/").content.decode()
    assert client.get(f"/c/{clinic.code}/leads/follow-ups/").status_code == 200
    dashboard = client.get(f"/c/{clinic.code}/leads/dashboard/")
    assert dashboard.context["stats"]["cro_queue"] == 1
    assert client.get(f"/c/{clinic.code}/leads/dashboard/?date_from=2026-05-02&date_to=2026-05-01").status_code == 400


def test_admin_creates_a_website_key_shown_once_and_revokes_it(login, clinic_admin, clinic):
    client = login(clinic_admin)
    response = client.post(
        f"/c/{clinic.code}/leads/settings/", {"form": "key", "name": "Main site", "allowed_origins": "https://sunrise.example/"}
    )
    raw = response.context["new_key"]
    assert raw.startswith("lk_") and raw in response.content.decode()
    assert raw not in client.get(f"/c/{clinic.code}/leads/settings/").content.decode()
    key = LeadApiKey.objects.get()
    assert key.origins == ["https://sunrise.example"]
    client.post(f"/c/{clinic.code}/leads/settings/keys/{key.pk}/revoke/")
    assert LeadApiKey.objects.get().revoked_at is not None
    bad = client.post(f"/c/{clinic.code}/leads/settings/", {"form": "key", "name": "X", "allowed_origins": "not a url"})
    assert bad.status_code == 400


def test_admin_adds_a_source(login, clinic_admin, clinic):
    client = login(clinic_admin)
    client.post(f"/c/{clinic.code}/leads/settings/", {"form": "option", "kind": "source", "label": "Radio"})
    assert ("Radio", "Radio") in client.get(f"/c/{clinic.code}/leads/new/").context["form"].fields["source"].choices
    duplicate = client.post(f"/c/{clinic.code}/leads/settings/", {"form": "option", "kind": "source", "label": "radio"})
    assert duplicate.status_code == 400


def test_another_clinics_lead_is_a_404(login, front_desk, clinic, other_clinic):
    foreign = LeadFactory(clinic=other_clinic)
    client = login(front_desk)
    assert client.get(f"/c/{clinic.code}/leads/{foreign.pk}/").status_code == 404
    assert client.post(f"/c/{clinic.code}/leads/{foreign.pk}/move/", {"to_status": "contacted"}).status_code == 404
    assert Lead.objects.get(pk=foreign.pk).status == "new"


def test_only_admins_and_cros_are_offered_to_reopen_lost_leads(login, front_desk, clinic, make_member):
    lost = LeadFactory(clinic=clinic, status="lost", lost_reason="Price")
    desk_board = login(front_desk).get(f"/c/{clinic.code}/leads/")
    assert f'id="move-{lost.pk}"' not in desk_board.content.decode()
    assert login(front_desk).get(f"/c/{clinic.code}/leads/{lost.pk}/").context["moves"] == []
    cro_board = login(make_member(Role.CRO)).get(f"/c/{clinic.code}/leads/")
    assert f'id="move-{lost.pk}"' in cro_board.content.decode()


def test_a_cro_who_converts_a_lead_lands_on_the_lead_naming_the_patient_not_on_a_403(login, make_member, clinic):
    cro = make_member(Role.CRO)
    lead = LeadFactory(clinic=clinic, name="Sangeetha Pillai", phone="+919845011111", status="contacted")
    client = login(cro)
    data = {"first_name": "Sangeetha", "last_name": "Pillai", "mobile": "+919845011111", "gender": "female", "date_of_birth": "1994-01-01"}
    response = client.post(f"/c/{clinic.code}/leads/{lead.pk}/convert/", data, follow=True)
    patient = Patient.objects.get()
    assert response.status_code == 200 and response.redirect_chain[-1][0] == f"/c/{clinic.code}/leads/{lead.pk}/"
    page = response.content.decode()
    assert f"is now a patient: {patient.uhid}" in page and patient.uhid in page
    assert f"/patients/{patient.pk}/" not in page  # no link to a chart the CRO may not open
    again = client.get(f"/c/{clinic.code}/leads/{lead.pk}/convert/", follow=True)
    assert again.status_code == 200 and again.redirect_chain[-1][0] == f"/c/{clinic.code}/leads/{lead.pk}/"


def test_the_move_select_starts_on_no_stage(login, front_desk, clinic):
    lead = LeadFactory(clinic=clinic, status="contacted")
    page = login(front_desk).get(f"/c/{clinic.code}/leads/{lead.pk}/").content.decode()
    select = page[page.index('name="to_status"') :]
    assert select.index('<option value="" selected disabled>Choose a stage…</option>') < select.index('value="lost"')
