"""Demo billing: a catalog per clinic (INR with GST classes for ABC01, GBP with VAT for
XYZ02), and four months of history made through the services in date order — invoices in
every state (draft, issued, partially paid, paid, overdue, cancelled with its credit
note), payments by every method, a deposit applied to a package, and a refund. Platform
prices for completed visits. Idempotent."""

import datetime
import itertools
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing import services
from billing.inputs import InvoiceLineInput
from billing.models import Invoice, Method, Payment, Service, UsagePrice
from clinical.models import LabTest, Visit
from clinicos.models import Clinic, Membership, User
from patients.models import Patient

D = Decimal
CATALOGS = {
    "ABC01": [
        # name, type, price, tax class, rate, HSN/SAC, lab test code
        ("Consultation", "consultation", D("800"), "exempt", D("0"), "9993", None),
        ("Follow-up consultation", "consultation", D("500"), "exempt", D("0"), "9993", None),
        ("Transvaginal ultrasound", "imaging", D("1500"), "exempt", D("0"), "9993", None),
        ("Follicular tracking (package of 4 scans)", "package", D("4500"), "exempt", D("0"), "9993", None),
        ("Intrauterine insemination (IUI)", "procedure", D("9000"), "exempt", D("0"), "9993", None),
        ("IVF cycle package", "package", D("150000"), "exempt", D("0"), "9993", None),
        ("AMH test", "lab_test", D("1800"), "exempt", D("0"), "9993", "AMH"),
        ("TSH test", "lab_test", D("450"), "exempt", D("0"), "9993", "TSH"),
        ("Semen analysis", "lab_test", D("700"), "exempt", D("0"), "9993", None),
        ("Chemical peel (cosmetic)", "procedure", D("2500"), "taxable", D("18"), "999722", None),
        ("Folic acid 5 mg, strip of 30", "pharmacy", D("95"), "taxable", D("12"), "3004", None),
        ("Progesterone 200 mg, strip of 10", "pharmacy", D("420"), "taxable", D("12"), "3004", None),
    ],
    "XYZ02": [
        ("GP consultation", "consultation", D("65"), "exempt", D("0"), "", None),
        ("Extended consultation", "consultation", D("95"), "exempt", D("0"), "", None),
        ("Blood test panel", "lab_test", D("45"), "exempt", D("0"), "", "HBA1C"),
        ("Travel vaccination", "vaccination", D("55"), "exempt", D("0"), "", None),
        ("Ear wax removal", "procedure", D("60"), "exempt", D("0"), "", None),
        ("Medical report for insurance", "other", D("100"), "taxable", D("20"), "", None),
        ("Private fit note", "other", D("25"), "taxable", D("20"), "", None),
    ],
}
INVOICES_PER_CLINIC = 36
METHODS_BY_CLINIC = {
    "ABC01": [
        Method.CASH,
        Method.UPI,
        Method.UPI,
        Method.CREDIT_CARD,
        Method.DEBIT_CARD,
        Method.INSURANCE,
        Method.BANK_TRANSFER,
        Method.CHEQUE,
        Method.OTHER,
    ],
    "XYZ02": [Method.CREDIT_CARD, Method.DEBIT_CARD, Method.CASH, Method.BANK_TRANSFER, Method.INSURANCE, Method.CHEQUE, Method.OTHER],
}


def seed(stdout=None) -> None:
    for price in (("INR", D("5.00")), ("GBP", D("0.10"))):
        UsagePrice.objects.get_or_create(
            usage_type=UsagePrice.UsageType.VISIT_COMPLETED,
            currency=price[0],
            effective_from=datetime.date(2025, 1, 1),
            defaults={"unit_price": price[1]},
        )
    for code in CATALOGS:
        clinic = Clinic.objects.filter(code=code).first()
        if clinic is None:
            continue
        if not Service.objects.for_clinic(clinic).exists():
            _catalog(clinic)
        if not Invoice.objects.for_clinic(clinic).exists():
            _history(clinic)
            if stdout:
                stdout.write(
                    f"  {Invoice.objects.for_clinic(clinic).count()} invoices and {Payment.objects.for_clinic(clinic).count()} receipts at {clinic.name}"
                )
        for visit in Visit.objects.for_clinic(clinic).filter(status=Visit.Status.COMPLETED, usage_record__isnull=True):
            services.record_visit_usage(visit=visit)


def _user(clinic: Clinic, role: str) -> User:
    return User.objects.get(email=f"{role}@{clinic.code.lower()}.example")


@transaction.atomic
def _catalog(clinic: Clinic) -> None:
    admin = _user(clinic, "admin")
    for name, service_type, price, tax_class, rate, code, test_code in CATALOGS[clinic.code]:
        lab_test = LabTest.objects.for_clinic(clinic).filter(code=test_code).first() if test_code else None
        services.service_save(
            clinic=clinic,
            user=admin,
            name=name,
            service_type=service_type,
            price=price,
            tax_class=tax_class,
            tax_rate=rate,
            hsn_sac=code,
            lab_test=lab_test,
        )


@transaction.atomic
def _history(clinic: Clinic) -> None:
    rng = random.Random(f"billing-{clinic.code}")
    desk, officer = _user(clinic, "frontdesk"), _user(clinic, "billing")
    officer_membership = Membership.objects.get(clinic=clinic, user=officer)
    catalog = list(Service.objects.for_clinic(clinic).filter(is_active=True).order_by("pk"))
    consultations = [s for s in catalog if s.service_type == Service.Type.CONSULTATION]
    extras = [s for s in catalog if s.service_type != Service.Type.CONSULTATION and s.service_type != Service.Type.PACKAGE]
    patients = list(Patient.objects.for_clinic(clinic).filter(status="active").order_by("pk")[:24])
    if not patients:
        return
    now = timezone.now()
    start = now - datetime.timedelta(days=120)
    methods = METHODS_BY_CLINIC[clinic.code]
    turn = itertools.count()  # every method in turn

    # Completed visits are billed from the visit (the front desk's "Bill").
    visits = list(
        Visit.objects.for_clinic(clinic)
        .filter(status=Visit.Status.COMPLETED, completed_at__gte=start)
        .select_related("doctor__user", "patient")
        .order_by("completed_at")[:12]
    )
    moments = sorted(start + datetime.timedelta(minutes=rng.randint(0, 119 * 24 * 60)) for _ in range(INVOICES_PER_CLINIC - len(visits)))
    plans: list[tuple[datetime.datetime, Patient, Visit | None, str]] = [
        (m, rng.choice(patients[1:] or patients), None, "walk-in") for m in moments
    ]
    plans += [(visit.completed_at + datetime.timedelta(minutes=10), visit.patient, visit, "visit") for visit in visits]
    plans.sort(key=lambda plan: plan[0])

    # The package patient pays a deposit first, applied to the package invoice a week later.
    package_patient = patients[0]
    package = max(catalog, key=lambda s: (s.service_type == Service.Type.PACKAGE, s.price))
    deposit_at = start + datetime.timedelta(days=20)
    deposit = services.deposit_record(
        clinic=clinic,
        patient=package_patient,
        user=desk,
        amount=package.price * D("0.6"),
        method=Method.BANK_TRANSFER,
        reference="NEFT-DEMO-1",
        when=deposit_at,
    )
    plans.append((deposit_at + datetime.timedelta(days=7), package_patient, None, "package"))
    plans.sort(key=lambda plan: plan[0])

    for index, (at, patient, visit, kind) in enumerate(plans):
        if at >= now:
            continue
        if kind == "visit":
            assert visit is not None
            invoice = services.invoice_draft_for_visit(visit=visit, user=desk)
            if invoice.lines.filter(unit_price=0).exists():
                services.invoice_update(
                    invoice=invoice,
                    user=desk,
                    lines=[
                        InvoiceLineInput(
                            service_id=line.service_id,
                            description=line.description,
                            quantity=line.quantity,
                            unit_price=line.unit_price or D("450"),
                            discount=line.discount,
                        )
                        for line in invoice.lines.all()
                    ],
                )
        elif kind == "package":
            invoice = services.invoice_create(
                clinic=clinic,
                user=desk,
                patient=patient,
                lines=[InvoiceLineInput(service_id=package.pk)],
                notes="Deposit of the package applied.",
            )
        else:
            lines = [InvoiceLineInput(service_id=rng.choice(consultations).pk)]
            for extra in rng.sample(extras, k=rng.choice([0, 1, 1, 2])):
                lines.append(InvoiceLineInput(service_id=extra.pk, quantity=rng.choice([1, 1, 2])))
            discount = D(rng.choice(["0", "0", "0", "100"]) if clinic.currency == "INR" else "0")
            invoice = services.invoice_create(clinic=clinic, user=desk, patient=patient, lines=lines, discount_amount=discount)
        # History: the invoice was written when the visit was (auto_now_add says today).
        Invoice.objects.filter(pk=invoice.pk).update(created_at=at)
        last = index == len(plans) - 1
        if last:
            continue  # the newest stays a draft
        if invoice.status == Invoice.Status.DRAFT:
            terms = rng.choice([0, 0, 15])
            invoice.due_date = timezone.localdate(at, clinic.tzinfo) + datetime.timedelta(days=terms)
            invoice.save(update_fields=["due_date"])
            services.invoice_issue(invoice=invoice, user=desk, when=at)
        invoice.refresh_from_db()
        if kind == "package":
            services.deposit_apply(invoice=invoice, user=desk, amount=deposit.amount, when=at + datetime.timedelta(minutes=2))
            invoice.refresh_from_db()
        fate = 0.95 if index % 9 == 4 else rng.random()  # every 9th: an unpaid invoice
        if fate < 0.7 and invoice.balance_due:
            services.payment_record(
                invoice=invoice,
                user=desk,
                amount=invoice.balance_due,
                method=methods[next(turn) % len(methods)],
                reference=f"DEMO-{index:03d}",
                when=at + datetime.timedelta(minutes=3),
            )
        elif fate < 0.85 and invoice.balance_due > 1:
            part = (invoice.balance_due / 2).quantize(D("1"))
            services.payment_record(
                invoice=invoice, user=desk, amount=part, method=methods[next(turn) % len(methods)], when=at + datetime.timedelta(minutes=3)
            )

    # A refund (a scan not done) and a cancelled invoice with its credit note.
    paid = Payment.objects.for_clinic(clinic).filter(kind=Payment.Kind.PAYMENT, invoice__status=Invoice.Status.PAID).order_by("received_at")
    refunded = paid.first()
    if refunded is not None:
        services.refund_record(
            payment=refunded,
            user=officer,
            membership=officer_membership,
            amount=min(refunded.amount, D("500") if clinic.currency == "INR" else D("20")),
            reason="Scan not done: the machine was down",
            when=refunded.received_at + datetime.timedelta(days=1),
        )
    unpaid = Invoice.objects.for_clinic(clinic).filter(status=Invoice.Status.ISSUED, amount_paid=0).order_by("issued_at").first()
    if unpaid is not None:
        services.invoice_cancel(
            invoice=unpaid,
            user=officer,
            membership=officer_membership,
            reason="Billed to the wrong patient",
            when=unpaid.issued_at + datetime.timedelta(hours=2),
        )
