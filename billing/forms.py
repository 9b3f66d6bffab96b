"""Billing's forms. Amounts are typed as text and parsed by ``billing.inputs.AmountField``
(``parse_amount``), so the page and the API give the same messages."""

from decimal import Decimal

from django import forms

from billing.inputs import AmountField, InvoiceLineInput
from billing.models import Invoice, Method, Service
from billing.services.catalog import SERVICE_FIELDS
from clinical.models import LabTest
from clinicos.dates import DayField
from clinicos.models import Department

QUICK_METHODS = [(Method.CASH, Method.CASH.label), (Method.UPI, Method.UPI.label)]


class ServiceForm(forms.ModelForm):
    price = AmountField(label="Price")
    tax_rate = forms.DecimalField(label="Tax rate (%)", required=False, min_value=0, max_value=100, decimal_places=2)

    class Meta:
        model = Service
        fields = list(SERVICE_FIELDS)  # what the service takes, no more
        widgets = {"tax_class": forms.RadioSelect}

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.for_clinic(clinic).filter(is_active=True)
        self.fields["lab_test"].queryset = LabTest.objects.for_clinic(clinic).filter(is_active=True)
        self.fields["hsn_sac"].help_text = "SAC 9993 for healthcare services in India; HSN for goods (e.g. 3004 medicines)."
        if self.instance.pk:
            self.initial["price"] = f"{self.instance.price:.2f}"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("tax_class") == "exempt" or cleaned.get("tax_rate") is None:
            if cleaned.get("tax_class") == "taxable":
                self.add_error("tax_rate", "A taxable service needs its rate, e.g. 18 (GST) or 20 (VAT).")
            cleaned["tax_rate"] = Decimal("0")
            self.instance.tax_rate = Decimal("0")
        return cleaned


class InvoiceHeaderForm(forms.Form):
    due_date = DayField(required=False, help_text="Empty: the clinic's usual terms from the day it is issued.")
    discount_amount = AmountField(label="Invoice discount", required=False, initial="0.00")
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class InvoiceLineForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False, empty_label="Free text…")
    description = forms.CharField(required=False, max_length=200)
    quantity = forms.IntegerField(
        required=False, min_value=1, max_value=10000, initial=1, widget=forms.NumberInput(attrs={"class": "input-qty"})
    )
    unit_price = AmountField(label="Unit price", required=False, help_text="")
    discount = AmountField(label="Discount", required=False)
    # Carried through the form: the line came without a price (see InvoiceLine.price_missing).
    price_missing = forms.BooleanField(required=False, widget=forms.HiddenInput)
    free_reason = forms.CharField(
        label="Free because", required=False, max_length=200, widget=forms.TextInput(attrs={"placeholder": "or free because…"})
    )

    def __init__(self, *args, services=None, **kwargs):
        super().__init__(*args, **kwargs)
        if services is not None:
            self.fields["service"].queryset = services

    @property
    def came_unpriced(self) -> bool:
        """The hidden flag as a boolean (a bound hidden input's value is the text "False")."""
        return bool(self.fields["price_missing"].to_python(self["price_missing"].value()))

    @property
    def is_blank(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not (data.get("service") or data.get("description") or data.get("unit_price") is not None)


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, services=None, **kwargs):
        self.services = services
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"services": self.services}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            services=self.services,
        )
        self.add_fields(form, None)
        return form

    def line_inputs(self) -> list[InvoiceLineInput]:
        """The lines filled in, as the service takes them (blank rows are skipped)."""
        lines = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.is_blank:
                continue
            data = form.cleaned_data
            lines.append(
                InvoiceLineInput(
                    service_id=data["service"].pk if data.get("service") else None,
                    description=(data.get("description") or "").strip(),
                    quantity=data.get("quantity") or 1,
                    unit_price=data.get("unit_price"),
                    discount=data.get("discount") or Decimal("0.00"),
                    price_missing=bool(data.get("price_missing")),
                    free_reason=(data.get("free_reason") or "").strip(),
                )
            )
        return lines


InvoiceLineFormSet = forms.formset_factory(InvoiceLineForm, formset=BaseLineFormSet, extra=0, max_num=50, absolute_max=50)


class PaymentForm(forms.Form):
    amount = AmountField(label="Amount")
    method = forms.ChoiceField(choices=Method.choices, initial=Method.CASH, widget=forms.RadioSelect(attrs={"class": "methods"}))
    reference = forms.CharField(required=False, max_length=100, help_text="UPI transaction id, card slip or cheque number.")


class ApplyDepositForm(forms.Form):
    amount = AmountField(label="Amount from deposits")


class RefundForm(forms.Form):
    amount = AmountField(label="Amount to refund")
    method = forms.ChoiceField(choices=Method.choices)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="Printed on the credit note.")


class DayCloseForm(forms.Form):
    day = DayField(required=False, label="Day")


class InvoiceFilterForm(forms.Form):
    STATUS_CHOICES = [("", "All"), ("open", "To be paid"), ("overdue", "Overdue"), *Invoice.Status.choices]

    q = forms.CharField(required=False, label="Number, UHID or name", max_length=100)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    date_from = DayField(required=False, label="From")
    date_to = DayField(required=False, label="To")
