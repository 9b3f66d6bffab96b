"""The money side: the clinic's service catalog, invoices and their lines, payments and
deposits with their receipts, refunds, deposits applied to invoices, credit notes, the
gap-free document counters, and the platform's usage records.

Amounts are ``Decimal`` with two places. What an invoice owes and has been paid is derived
by ``billing.services`` from its lines and money entries (stored on the invoice so lists
and reports need no arithmetic, and checked by the database: an invoice is never paid
above its total)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from clinical.models import LabTest, Visit
from clinicos.fields import BoundedTextField
from clinicos.models import ClinicOwnedModel, Department, DoctorProfile, audited_history
from clinicos.scoping import ClinicScopedManager
from patients.models import Patient

ZERO = Decimal("0.00")


def money_field(verbose_name: str | None = None, **kwargs) -> models.DecimalField:
    """An amount of money: up to 9,999,999,999.99, two places."""
    kwargs.update(max_digits=12, decimal_places=2)
    return models.DecimalField(verbose_name, **kwargs)


hsn_sac_validator = RegexValidator(r"^\d{4,8}$", "An HSN or SAC code has 4 to 8 digits, e.g. 9993.")


class TaxClass(models.TextChoices):
    EXEMPT = "exempt", "Exempt (healthcare services)"
    TAXABLE = "taxable", "Taxable"


class Service(ClinicOwnedModel):
    """Something the clinic charges for (healthcare-management-system's Service)."""

    class Type(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        PROCEDURE = "procedure", "Procedure"
        LAB_TEST = "lab_test", "Lab test"
        IMAGING = "imaging", "Imaging"
        THERAPY = "therapy", "Therapy"
        SURGERY = "surgery", "Surgery"
        VACCINATION = "vaccination", "Vaccination"
        PHARMACY = "pharmacy", "Pharmacy"
        PACKAGE = "package", "Package"
        OTHER = "other", "Other"

    name = models.CharField(max_length=150)
    service_type = models.CharField("type", max_length=20, choices=Type, default=Type.CONSULTATION)
    # PROTECT: a department with services is deactivated, never deleted.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="services")
    lab_test = models.ForeignKey(
        LabTest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="services",
        help_text="For lab tests: the catalog test it bills, so a visit's lab orders are priced on its invoice.",
    )
    price = money_field(validators=[MinValueValidator(ZERO)])
    default_duration_minutes = models.PositiveSmallIntegerField(
        "default duration (minutes)", null=True, blank=True, validators=[MinValueValidator(5), MaxValueValidator(600)]
    )
    tax_class = models.CharField(max_length=10, choices=TaxClass, default=TaxClass.EXEMPT)
    tax_rate = models.DecimalField(
        "tax rate (%)",
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(Decimal("100"))],
        help_text="GST or VAT rate for taxable services, e.g. 18 or 20. Exempt services carry none.",
    )
    hsn_sac = models.CharField("HSN/SAC code", max_length=8, blank=True, validators=[hsn_sac_validator])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = audited_history()

    class Meta:
        ordering = ["service_type", "name"]
        constraints = [
            models.UniqueConstraint(
                Upper("name"),
                "clinic",
                name="service_name_unique",
                violation_error_message="The catalog already has a service with this name.",
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="service_price_not_negative"),
            models.CheckConstraint(
                condition=Q(tax_class="exempt", tax_rate=0) | Q(tax_class="taxable", tax_rate__gt=0, tax_rate__lte=100),
                name="service_tax_rate_matches_class",
                violation_error_message="A taxable service needs a rate above 0 and at most 100; an exempt service has none.",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "is_active", "service_type"], name="service_active_type")]

    def __str__(self):
        return self.name


class DocumentSequence(models.Model):
    """The last number of one series (invoices, credit notes, receipts) of a clinic in one
    financial year, locked while a document is issued: numbers are consecutive, and a
    failed issue rolls its increment back with everything else."""

    class Series(models.TextChoices):
        INVOICE = "invoice", "Invoices"
        CREDIT_NOTE = "credit_note", "Credit notes"
        RECEIPT = "receipt", "Receipts"

    clinic = models.ForeignKey("clinicos.Clinic", on_delete=models.CASCADE, related_name="+")
    series = models.CharField(max_length=12, choices=Series)
    year_start = models.DateField(help_text="First day of the financial year.")
    last_number = models.PositiveIntegerField(default=0)

    objects = ClinicScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "series", "year_start"], name="document_sequence_unique")]

    def __str__(self):
        return f"{self.get_series_display()} of clinic {self.clinic_id} from {self.year_start}: last {self.last_number}"


class Invoice(ClinicOwnedModel):
    """A bill to a patient, optionally for a visit. Draft (editable, deletable) → Issued
    (numbered, immutable) → Partially paid / Paid; Cancelled by a credit note. Overdue is
    not a status: it is an issued invoice past its due date with a balance."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    class DocumentType(models.TextChoices):
        BILL_OF_SUPPLY = "bill_of_supply", "Bill of supply"
        TAX_INVOICE = "tax_invoice", "Tax invoice"

    OPEN_STATUSES = (Status.ISSUED, Status.PARTIALLY_PAID)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    doctor = models.ForeignKey(
        DoctorProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The visit's doctor, printed on receipts.",
    )
    number = models.CharField(max_length=16, blank=True, help_text="Assigned when issued, e.g. ABC01/2627/00001.")
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    document_type = models.CharField(max_length=16, choices=DocumentType, default=DocumentType.BILL_OF_SUPPLY)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    place_of_supply = models.CharField(max_length=100, blank=True, help_text="The state the supply is taxed in (India).")
    interstate = models.BooleanField(default=False, help_text="IGST instead of CGST + SGST: the patient's state differs from the clinic's.")
    subtotal = money_field(default=ZERO)
    discount_amount = money_field(default=ZERO)
    tax_amount = money_field(default=ZERO)
    total_amount = money_field(default=ZERO)
    amount_paid = money_field(default=ZERO, help_text="Payments less refunds, plus deposits applied.")
    notes = BoundedTextField(max_length=2000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "number"], condition=~Q(number=""), name="invoice_number_unique"),
            models.UniqueConstraint(fields=["visit"], condition=Q(status="draft"), name="invoice_one_draft_per_visit"),
            models.CheckConstraint(condition=Q(status="draft") | ~Q(number=""), name="invoice_issued_has_number"),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0, discount_amount__lte=F("subtotal")), name="invoice_discount_within_subtotal"
            ),
            models.CheckConstraint(condition=Q(amount_paid__gte=0, amount_paid__lte=F("total_amount")), name="invoice_never_overpaid"),
            models.CheckConstraint(condition=Q(tax_amount__gte=0, subtotal__gte=0), name="invoice_amounts_not_negative"),
        ]
        indexes = [
            models.Index(fields=["clinic", "-created_at"], name="invoice_created"),
            models.Index(fields=["clinic", "status", "-created_at"], name="invoice_status_created"),
            models.Index(fields=["clinic", "patient", "-created_at"], name="invoice_patient_created"),
            models.Index(fields=["clinic", "issue_date"], name="invoice_issue_date"),
            models.Index(fields=["clinic", "status", "due_date"], name="invoice_status_due"),
            models.Index(fields=["visit"], name="invoice_visit"),
        ]

    def __str__(self):
        return self.number or f"Draft invoice #{self.pk}"

    @property
    def balance_due(self) -> Decimal:
        if self.status in (self.Status.DRAFT, self.Status.CANCELLED):
            return ZERO
        return self.total_amount - self.amount_paid

    def is_overdue_on(self, day) -> bool:
        return self.status in self.OPEN_STATUSES and self.due_date is not None and self.due_date < day and self.balance_due > 0

    @property
    def document_label(self) -> str:
        return self.get_document_type_display()


class InvoiceLine(ClinicOwnedModel):
    """One line: a service of the catalog or free text. Its amounts are computed by
    ``billing.arithmetic`` when the invoice is saved, never typed in."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(max_length=200)
    hsn_sac = models.CharField("HSN/SAC", max_length=8, blank=True)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = money_field(validators=[MinValueValidator(ZERO)])
    discount = money_field(default=ZERO, validators=[MinValueValidator(ZERO)])
    tax_class = models.CharField(max_length=10, choices=TaxClass, default=TaxClass.EXEMPT)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    line_total = money_field(default=ZERO, help_text="quantity × unit price − discount")
    invoice_discount_share = money_field(default=ZERO)
    taxable_value = money_field(default=ZERO)
    cgst_amount = money_field(default=ZERO)
    sgst_amount = money_field(default=ZERO)
    igst_amount = money_field(default=ZERO)
    vat_amount = money_field(default=ZERO, help_text="VAT (UK) or the sales tax of other countries.")
    tax_amount = money_field(default=ZERO)
    # A line that came without a price (a lab test with no service in the catalog): it
    # bills 0.00 until someone prices it or marks it free with a reason; issuing refuses it.
    price_missing = models.BooleanField(default=False)
    free_reason = models.CharField(max_length=200, blank=True, help_text="Why the line is given free.")

    history = audited_history()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="invoice_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0, discount__gte=0, line_total__gte=0), name="invoice_line_amounts_not_negative"
            ),
        ]

    def __str__(self):
        return self.description

    @property
    def amount(self) -> Decimal:
        """What the line costs the patient: its taxable value plus its tax."""
        return self.taxable_value + self.tax_amount


class CreditNote(ClinicOwnedModel):
    """Cancels an issued invoice in full (an issued invoice is never deleted)."""

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="credit_note")
    number = models.CharField(max_length=16)
    issue_date = models.DateField()
    reason = BoundedTextField(max_length=2000)
    taxable_value = money_field()
    tax_amount = money_field()
    total_amount = money_field()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()

    history = audited_history()

    class Meta:
        ordering = ["-issued_at"]
        constraints = [models.UniqueConstraint(fields=["clinic", "number"], name="credit_note_number_unique")]

    def __str__(self):
        return self.number


class Method(models.TextChoices):
    CASH = "cash", "Cash"
    CREDIT_CARD = "credit_card", "Credit card"
    DEBIT_CARD = "debit_card", "Debit card"
    UPI = "upi", "UPI"
    INSURANCE = "insurance", "Insurance"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"
    OTHER = "other", "Other"


class Payment(ClinicOwnedModel):
    """Money received, with a numbered receipt: for an invoice, or as a deposit held on
    the patient's account (applied to later invoices). Never edited: a mistake is
    refunded."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        DEPOSIT = "deposit", "Deposit"

    kind = models.CharField(max_length=10, choices=Kind, default=Kind.PAYMENT)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    amount = money_field()
    method = models.CharField(max_length=16, choices=Method)
    reference = models.CharField(max_length=100, blank=True, help_text="UPI transaction id, card slip, cheque number…")
    receipt_number = models.CharField(max_length=16)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    refunded_amount = money_field(default=ZERO)
    applied_amount = money_field(default=ZERO, help_text="Deposits: how much went to invoices.")

    history = audited_history()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "receipt_number"], name="payment_receipt_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="payment", invoice__isnull=False) | Q(kind="deposit", invoice__isnull=True),
                name="payment_kind_matches_invoice",
            ),
            # refunded + applied ≤ amount is kept by the services under a row lock; the
            # database checks each part (SQLite adds decimals as floats, so no sums here).
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")), name="payment_refunds_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0, applied_amount__lte=F("amount")), name="payment_applied_within_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "received_at"], name="payment_received_at"),
            models.Index(fields=["clinic", "patient", "kind"], name="payment_patient_kind"),
        ]

    def __str__(self):
        return self.receipt_number

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.refunded_amount - self.applied_amount


class Refund(ClinicOwnedModel):
    """Money given back from one payment or deposit, with its reason."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    method = models.CharField(max_length=16, choices=Method)
    reason = BoundedTextField(max_length=2000)
    refunded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    refunded_at = models.DateTimeField()

    history = audited_history()

    class Meta:
        ordering = ["-refunded_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["clinic", "refunded_at"], name="refund_refunded_at")]

    def __str__(self):
        return f"Refund of {self.payment.receipt_number}" if self.payment_id else "Refund"


class DepositApplication(ClinicOwnedModel):
    """Part of a deposit used to pay an invoice."""

    deposit = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="applications")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="deposit_applications")
    amount = money_field()
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True, help_text="The invoice was cancelled: the money went back to the deposit.")

    history = audited_history()

    class Meta:
        ordering = ["applied_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_application_positive")]

    def __str__(self):
        return f"{self.amount} of {self.deposit.receipt_number}" if self.deposit_id else "Deposit application"


# --- Platform usage (multi-clinic-platform) ----------------------------------------------------


class UsagePrice(models.Model):
    """The platform's price list, kept by its administrators in the Django admin: what a
    unit of each kind of usage costs a clinic from a date on."""

    class UsageType(models.TextChoices):
        VISIT_COMPLETED = "visit_completed", "Completed visit"

    usage_type = models.CharField(max_length=30, choices=UsageType)
    unit_price = money_field(validators=[MinValueValidator(ZERO)])
    currency = models.CharField(max_length=3, default="INR")
    effective_from = models.DateField()

    class Meta:
        ordering = ["usage_type", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["usage_type", "currency", "effective_from"], name="usage_price_unique")]

    def __str__(self):
        return f"{self.get_usage_type_display()}: {self.currency} {self.unit_price} from {self.effective_from}"


class UsageRecord(ClinicOwnedModel):
    """One billable use of the platform by a clinic, priced when it happened."""

    usage_type = models.CharField(max_length=30, choices=UsagePrice.UsageType)
    units = models.PositiveIntegerField(default=1)
    unit_price = money_field()
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="usage_record")

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["occurred_at", "clinic"], name="usage_record_month")]

    def __str__(self):
        return f"{self.get_usage_type_display()} × {self.units}"

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.units
