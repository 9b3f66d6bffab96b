"""A starting lab catalog and formulary for a new clinic (the demo loads them): the common
fertility and general tests with adult reference ranges by sex and age, and critical
bounds where laboratories usually call them.

Ranges are typical adult values from common laboratory references (e.g. Tietz Clinical
Guide to Laboratory Tests; WHO laboratory manual for the examination of human semen, 6th
ed. 2021, for the semen analysis lower reference limits). Each clinic must replace them
with its own laboratory's ranges in Settings › Lab tests.
"""

from decimal import Decimal

from django.db import transaction

from clinical.models import FormularyItem, LabTest, ReferenceRange, Route
from clinicos.models import Clinic

D = Decimal

# code, name, specimen, unit, [(sex, age from, age up to, low, high, critical low, critical high, label)], normal text
CATALOG: list[tuple] = [
    (
        "FSH",
        "Follicle-stimulating hormone",
        "Serum",
        "mIU/mL",
        [
            ("female", 12, None, D("3.5"), D("12.5"), None, None, "Follicular phase"),
            ("male", 12, None, D("1.5"), D("12.4"), None, None, ""),
        ],
        "",
    ),
    (
        "LH",
        "Luteinising hormone",
        "Serum",
        "mIU/mL",
        [("female", 12, None, D("2.4"), D("12.6"), None, None, "Follicular phase"), ("male", 12, None, D("1.7"), D("8.6"), None, None, "")],
        "",
    ),
    (
        "AMH",
        "Anti-Müllerian hormone",
        "Serum",
        "ng/mL",
        [
            ("female", 18, 30, D("1.5"), D("8.0"), None, None, "18–29 y"),
            ("female", 30, 40, D("1.0"), D("6.0"), None, None, "30–39 y"),
            ("female", 40, None, D("0.3"), D("3.0"), None, None, "40 y and over"),
        ],
        "",
    ),
    (
        "E2",
        "Estradiol",
        "Serum",
        "pg/mL",
        [("female", 12, None, D("30"), D("400"), None, None, "Follicular phase"), ("male", 12, None, D("10"), D("40"), None, None, "")],
        "",
    ),
    ("TSH", "Thyroid-stimulating hormone", "Serum", "mIU/L", [("any", 0, None, D("0.4"), D("4.0"), D("0.01"), D("20"), "")], ""),
    (
        "PRL",
        "Prolactin",
        "Serum",
        "ng/mL",
        [("female", 12, None, D("4.8"), D("23.3"), None, None, ""), ("male", 12, None, D("4.0"), D("15.2"), None, None, "")],
        "",
    ),
    ("HBA1C", "HbA1c", "Whole blood (EDTA)", "%", [("any", 0, None, D("4.0"), D("5.6"), None, D("14"), "")], ""),
    ("FBS", "Fasting blood glucose", "Plasma (fluoride)", "mg/dL", [("any", 0, None, D("70"), D("99"), D("40"), D("400"), "")], ""),
    (
        "HB",
        "Haemoglobin",
        "Whole blood (EDTA)",
        "g/dL",
        [
            ("female", 12, None, D("12.0"), D("15.5"), D("7.0"), D("20.0"), ""),
            ("male", 12, None, D("13.5"), D("17.5"), D("7.0"), D("20.0"), ""),
        ],
        "",
    ),
    ("WBC", "White cell count", "Whole blood (EDTA)", "×10³/µL", [("any", 0, None, D("4.0"), D("11.0"), D("2.0"), D("30.0"), "")], ""),
    ("PLT", "Platelet count", "Whole blood (EDTA)", "×10³/µL", [("any", 0, None, D("150"), D("450"), D("50"), D("1000"), "")], ""),
    (
        "CREAT",
        "Creatinine",
        "Serum",
        "mg/dL",
        [("female", 12, None, D("0.5"), D("1.1"), None, D("5.0"), ""), ("male", 12, None, D("0.7"), D("1.3"), None, D("5.0"), "")],
        "",
    ),
    ("K", "Potassium", "Serum", "mmol/L", [("any", 0, None, D("3.5"), D("5.1"), D("2.5"), D("6.5"), "")], ""),
    ("SVOL", "Semen volume", "Semen", "mL", [("male", 12, None, D("1.4"), None, None, None, "WHO 2021 lower reference limit")], ""),
    (
        "SCONC",
        "Sperm concentration",
        "Semen",
        "million/mL",
        [("male", 12, None, D("16"), None, None, None, "WHO 2021 lower reference limit")],
        "",
    ),
    ("SMOT", "Sperm total motility", "Semen", "%", [("male", 12, None, D("42"), None, None, None, "WHO 2021 lower reference limit")], ""),
    ("SMORPH", "Sperm normal forms", "Semen", "%", [("male", 12, None, D("4"), None, None, None, "WHO 2021 lower reference limit")], ""),
    ("BHCG", "β-hCG (quantitative)", "Serum", "mIU/mL", [("female", 12, None, None, D("5"), None, None, "Not pregnant")], ""),
    ("UPT", "Urine pregnancy test", "Urine", "", [], "Negative"),
]

FORMULARY: list[tuple[str, str, str, str, str]] = [
    ("Folic acid", "5 mg", "tablet", Route.ORAL, "Once a day (1-0-0)"),
    ("Letrozole", "2.5 mg", "tablet", Route.ORAL, "Once a day (1-0-0)"),
    ("Clomifene", "50 mg", "tablet", Route.ORAL, "Once a day (1-0-0)"),
    ("Metformin", "500 mg", "tablet", Route.ORAL, "Twice a day (1-0-1)"),
    ("Progesterone", "200 mg", "vaginal capsule", Route.VAGINAL, "At bedtime (0-0-1)"),
    ("Dydrogesterone", "10 mg", "tablet", Route.ORAL, "Twice a day (1-0-1)"),
    ("Paracetamol", "500 mg", "tablet", Route.ORAL, "Three times a day (1-1-1)"),
    ("Ibuprofen", "400 mg", "tablet", Route.ORAL, "Three times a day (1-1-1)"),
    ("Amoxicillin", "500 mg", "capsule", Route.ORAL, "Three times a day (1-1-1)"),
    ("Azithromycin", "500 mg", "tablet", Route.ORAL, "Once a day (1-0-0)"),
    ("Cefalexin", "500 mg", "capsule", Route.ORAL, "Four times a day"),
    ("Ciprofloxacin", "500 mg", "tablet", Route.ORAL, "Twice a day (1-0-1)"),
    ("Amlodipine", "5 mg", "tablet", Route.ORAL, "Once a day (1-0-0)"),
    ("Levothyroxine", "50 mcg", "tablet", Route.ORAL, "Once a day (1-0-0)"),
    ("Cabergoline", "0.5 mg", "tablet", Route.ORAL, "Once a week"),
    ("Omeprazole", "20 mg", "capsule", Route.ORAL, "Once a day (1-0-0)"),
]


@transaction.atomic
def install(clinic: Clinic) -> int:
    """Add the catalog and formulary entries the clinic does not have yet; returns how many
    tests were added."""
    have = set(LabTest.objects.filter(clinic=clinic).values_list("code", flat=True))
    added = 0
    for code, name, specimen, unit, ranges, normal_text in CATALOG:
        if code in have:
            continue
        result_type = LabTest.ResultType.TEXT if normal_text else LabTest.ResultType.NUMERIC
        test = LabTest.objects.create(
            clinic=clinic, code=code, name=name, specimen=specimen, unit=unit, result_type=result_type, normal_text=normal_text
        )
        ReferenceRange.objects.bulk_create(
            [
                ReferenceRange(
                    clinic=clinic,
                    lab_test=test,
                    sex=sex,
                    age_min_years=age_from,
                    age_max_years=age_to,
                    low=low,
                    high=high,
                    critical_low=critical_low,
                    critical_high=critical_high,
                    label=label,
                )
                for sex, age_from, age_to, low, high, critical_low, critical_high, label in ranges
            ]
        )
        added += 1
    known = {
        (name.lower(), strength.lower())
        for name, strength in FormularyItem.objects.filter(clinic=clinic).values_list("generic_name", "strength")
    }
    FormularyItem.objects.bulk_create(
        [
            FormularyItem(clinic=clinic, generic_name=name, strength=strength, form=form, route=route, default_frequency=frequency)
            for name, strength, form, route, frequency in FORMULARY
            if (name.lower(), strength.lower()) not in known
        ]
    )
    return added
