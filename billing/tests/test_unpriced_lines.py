"""A lab test the catalog does not price reaches the visit's bill unpriced, says so, and
cannot be issued until someone prices it or gives it free with a reason: the service, the
pages and the API."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import services
from billing.inputs import InvoiceLineInput
from billing.models import Invoice
from clinicos.errors import Conflict

pytestmark = pytest.mark.django_db
AMH = "Lab test — Anti-Müllerian hormone"


def lines_of(invoice):
    return [(line.description, line.unit_price, line.price_missing, line.free_reason) for line in invoice.lines.all()]


def with_amh(invoice, **changes):
    """The invoice's lines as input, the AMH line changed."""
    return [
        InvoiceLineInput(**{**InvoiceLineInput.of_row(line).__dict__, **(changes if line.description == AMH else {})})
        for line in invoice.lines.all()
    ]


def test_the_unpriced_test_is_on_the_draft_and_refused_at_issue(unpriced_draft, front_desk):
    assert lines_of(unpriced_draft) == [
        ("Consultation — Dr. Dr Kavya Rao", Decimal("800.00"), False, ""),
        (AMH, Decimal("0.00"), True, ""),
    ]
    with pytest.raises(Conflict, match="No price in the catalog for line 2 \\(Lab test — Anti-Müllerian hormone\\)"):
        services.invoice_issue(invoice=unpriced_draft, user=front_desk)
    unpriced_draft.refresh_from_db()
    assert unpriced_draft.status == Invoice.Status.DRAFT and not unpriced_draft.number
    # a header-only change keeps the line unpriced
    services.invoice_update(invoice=unpriced_draft, user=front_desk, notes="Paid by the husband")
    assert lines_of(Invoice.objects.get(pk=unpriced_draft.pk))[1][2] is True


def test_priced_it_issues(unpriced_draft, front_desk):
    services.invoice_update(invoice=unpriced_draft, user=front_desk, lines=with_amh(unpriced_draft, unit_price=Decimal("1200")))
    assert lines_of(unpriced_draft)[1] == (AMH, Decimal("1200.00"), False, "")
    issued = services.invoice_issue(invoice=unpriced_draft, user=front_desk)
    assert issued.status == Invoice.Status.ISSUED and issued.total_amount == Decimal("2000.00")


def test_free_with_a_reason_issues_at_nothing(unpriced_draft, front_desk):
    # a typed 0 without a reason is still unpriced
    services.invoice_update(invoice=unpriced_draft, user=front_desk, lines=with_amh(unpriced_draft, unit_price=Decimal("0")))
    assert lines_of(unpriced_draft)[1][2] is True
    services.invoice_update(
        invoice=unpriced_draft, user=front_desk, lines=with_amh(unpriced_draft, free_reason="  Repeat  test,   lab's error ")
    )
    assert lines_of(unpriced_draft)[1] == (AMH, Decimal("0.00"), False, "Repeat test, lab's error")
    assert services.invoice_issue(invoice=unpriced_draft, user=front_desk).total_amount == Decimal("800.00")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unit_price": Decimal("300"), "free_reason": "Goodwill"}, "A line given free has no price"),
        ({"free_reason": "x" * 201}, "at most 200 characters"),
    ],
)
def test_a_free_reason_with_a_price_or_too_long_is_refused(unpriced_draft, front_desk, changes, message):
    with pytest.raises(ValidationError) as refused:
        services.invoice_update(invoice=unpriced_draft, user=front_desk, lines=with_amh(unpriced_draft, **changes))
    assert message in refused.value.message_dict["lines.1.free_reason"][0]
    assert lines_of(Invoice.objects.get(pk=unpriced_draft.pk))[1] == (AMH, Decimal("0.00"), True, "")


# --- The pages -----------------------------------------------------------------------------------


def test_the_draft_page_says_which_line_has_no_price_and_offers_no_issue(client, gst_clinic, front_desk, unpriced_draft):
    client.force_login(front_desk)
    page = client.get(reverse("invoice_detail", args=[gst_clinic.code, unpriced_draft.pk])).content.decode()
    assert "No price in the catalog" in page and "Price the lines" in page
    assert reverse("invoice_issue", args=[gst_clinic.code, unpriced_draft.pk]) not in page
    refused = client.post(reverse("invoice_issue", args=[gst_clinic.code, unpriced_draft.pk]), follow=True).content.decode()
    assert "No price in the catalog for line 2" in refused
    assert Invoice.objects.get(pk=unpriced_draft.pk).status == Invoice.Status.DRAFT


def _edit_form_data(client, gst_clinic, invoice, **amh):
    """What the edit form posts back (its two rows as the page fills them), the AMH row changed."""
    page = client.get(reverse("invoice_edit", args=[gst_clinic.code, invoice.pk])).content.decode()
    consultation, test = invoice.lines.all()
    data = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "2",
        "lines-0-service": "",
        "lines-0-description": consultation.description,
        "lines-0-quantity": "1",
        "lines-0-unit_price": "800.00",
        "lines-0-price_missing": "False",
        "lines-1-service": "",
        "lines-1-description": test.description,
        "lines-1-quantity": "1",
        "lines-1-unit_price": "",
        "lines-1-price_missing": "True",
        "lines-1-free_reason": "",
        "discount_amount": "0.00",
    }
    data.update({f"lines-1-{key}": value for key, value in amh.items()})
    return page, data


def test_the_edit_form_keeps_an_unpriced_line_and_takes_a_reason(client, gst_clinic, front_desk, unpriced_draft):
    client.force_login(front_desk)
    page, data = _edit_form_data(client, gst_clinic, unpriced_draft)
    assert "No price in the catalog: enter one, or give a reason to bill it free." in page
    assert 'name="lines-1-price_missing" value="True"' in page and 'name="lines-1-unit_price"' in page
    assert 'name="lines-1-unit_price" value=' not in page, "the price is left empty, not 0.00"
    assert client.post(reverse("invoice_edit", args=[gst_clinic.code, unpriced_draft.pk]), data).status_code == 302
    assert lines_of(unpriced_draft)[1][2] is True, "saved as it was: still unpriced"
    _, data = _edit_form_data(client, gst_clinic, unpriced_draft, unit_price="250", free_reason="Goodwill")
    refused = client.post(reverse("invoice_edit", args=[gst_clinic.code, unpriced_draft.pk]), data)
    assert refused.status_code == 422 and "A line given free has no price" in refused.content.decode()
    _, data = _edit_form_data(client, gst_clinic, unpriced_draft, free_reason="Goodwill")
    assert client.post(reverse("invoice_edit", args=[gst_clinic.code, unpriced_draft.pk]), data).status_code == 302
    assert lines_of(unpriced_draft)[1] == (AMH, Decimal("0.00"), False, "Goodwill")
    detail = client.get(reverse("invoice_detail", args=[gst_clinic.code, unpriced_draft.pk])).content.decode()
    assert "Free: Goodwill" in detail and "Price the lines" not in detail


# --- The API -------------------------------------------------------------------------------------


def test_the_api_shows_the_unpriced_line_and_answers_409_until_it_is_free(gst_clinic, front_desk, unpriced_draft, api_client):
    api = api_client(front_desk)
    base = f"/api/v1/clinics/{gst_clinic.code}/invoices/{unpriced_draft.pk}"
    lines = api.get(base).json()["lines"]
    assert [(line["price_missing"], line["free_reason"]) for line in lines] == [(False, ""), (True, "")]
    refused = api.post(base + "/issue")
    assert refused.status_code == 409 and "No price in the catalog" in refused.json()["detail"]
    sent = [{"service_id": line["service_id"], "description": line["description"], "unit_price": line["unit_price"]} for line in lines]
    sent[1] = {"description": AMH, "unit_price": "0", "free_reason": "Research protocol"}
    assert api.patch(base, {"lines": sent}).status_code == 200
    issued = api.post(base + "/issue")
    assert issued.status_code == 200 and issued.json()["lines"][1]["free_reason"] == "Research protocol"
