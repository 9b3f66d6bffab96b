"""Demo patients for ``manage.py seed_demo``: about 200 per clinic, with Indian names at
Sunrise Fertility Centre (ABC01) and British names at Lakeside Family Clinic (XYZ02), and a
few documents. Deterministic, and skipped for patients that already exist."""

import datetime
import random

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from clinicos.models import Clinic, DoctorProfile, User
from patients import services
from patients.models import InsuranceProvider, Patient


def patients_per_clinic() -> int:
    # The test suite seeds fewer, to stay fast.
    return getattr(settings, "DEMO_PATIENTS_PER_CLINIC", 200)


NAMES = {
    "ABC01": {
        "female": [
            "Aishwarya",
            "Ananya",
            "Deepa",
            "Divya",
            "Gayathri",
            "Kavya",
            "Lakshmi",
            "Meera",
            "Nandini",
            "Pooja",
            "Priya",
            "Radhika",
            "Revathi",
            "Shalini",
            "Sneha",
            "Swathi",
            "Vidya",
            "Anjali",
            "Bhavana",
            "Harini",
        ],
        "male": [
            "Arjun",
            "Karthik",
            "Manoj",
            "Naveen",
            "Pradeep",
            "Rahul",
            "Rajesh",
            "Sanjay",
            "Suresh",
            "Vikram",
            "Aditya",
            "Ganesh",
            "Harish",
            "Kiran",
            "Mohan",
            "Prakash",
            "Ravi",
            "Srinivas",
            "Venkat",
            "Ajay",
        ],
        "last": [
            "Rao",
            "Reddy",
            "Iyer",
            "Nair",
            "Menon",
            "Sharma",
            "Gowda",
            "Shetty",
            "Kulkarni",
            "Patil",
            "Hegde",
            "Pillai",
            "Krishnan",
            "Subramanian",
            "Naidu",
            "Bhat",
            "Joshi",
            "Kamath",
            "Prabhu",
            "Varma",
        ],
        "cities": [
            ("Bengaluru", "Karnataka", "560001"),
            ("Mysuru", "Karnataka", "570001"),
            ("Chennai", "Tamil Nadu", "600001"),
            ("Hosur", "Tamil Nadu", "635109"),
            ("Tumakuru", "Karnataka", "572101"),
        ],
        "phone": lambda n: f"+9198{45000000 + n * 7919 % 10000000:08d}",
        "insurers": ["Star Health", "HDFC ERGO", "ICICI Lombard"],
    },
    "XYZ02": {
        "female": [
            "Olivia",
            "Amelia",
            "Isla",
            "Ava",
            "Emily",
            "Sophie",
            "Grace",
            "Lily",
            "Freya",
            "Charlotte",
            "Ella",
            "Poppy",
            "Evie",
            "Chloe",
            "Alice",
            "Ruby",
            "Hannah",
            "Jessica",
            "Lucy",
            "Megan",
        ],
        "male": [
            "Oliver",
            "George",
            "Harry",
            "Jack",
            "Jacob",
            "Noah",
            "Charlie",
            "Thomas",
            "Oscar",
            "William",
            "James",
            "Henry",
            "Leo",
            "Alfie",
            "Joshua",
            "Freddie",
            "Archie",
            "Ethan",
            "Isaac",
            "Alexander",
        ],
        "last": [
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Johnson",
            "Davies",
            "Robinson",
            "Wright",
            "Thompson",
            "Evans",
            "Walker",
            "White",
            "Roberts",
            "Green",
            "Hall",
            "Wood",
            "Jackson",
            "Clarke",
        ],
        "cities": [
            ("Windermere", "Cumbria", "LA23 1AA"),
            ("Kendal", "Cumbria", "LA9 4DL"),
            ("Ambleside", "Cumbria", "LA22 0BZ"),
            ("Keswick", "Cumbria", "CA12 5JR"),
            ("Penrith", "Cumbria", "CA11 7QF"),
        ],
        "phone": lambda n: f"+44770{900000 + n * 3571 % 100000:06d}",
        "insurers": ["Bupa", "AXA Health", "Vitality"],
    },
}
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def seed(stdout=None) -> None:
    for code, names in NAMES.items():
        clinic = Clinic.objects.filter(code=code).first()
        if clinic is None:
            continue
        _seed_clinic(clinic, names)
        if stdout:
            stdout.write(f"  {Patient.objects.for_clinic(clinic).count()} patients at {clinic.name}")


def _seed_clinic(clinic: Clinic, names: dict) -> None:
    rng = random.Random(clinic.code)
    desk = User.objects.get(email=f"frontdesk@{clinic.code.lower()}.example")
    doctors = list(DoctorProfile.objects.for_clinic(clinic))
    insurers = [
        _existing_insurer(clinic, name) or services.insurance_provider_save(clinic=clinic, data={"name": name, "is_active": True})
        for name in names["insurers"]
    ]
    existing = set(Patient.objects.for_clinic(clinic).values_list("external_reference", flat=True))
    today = datetime.date.today()
    for n in range(patients_per_clinic()):
        reference = f"DEMO-{clinic.code}-{n:04d}"
        gender = "female" if clinic.code == "ABC01" and n % 5 else rng.choice(["female", "male"])
        first = rng.choice(names[gender])
        last = rng.choice(names["last"])
        city, state, postal_code = rng.choice(names["cities"])
        if reference in existing:
            continue
        data = {
            "first_name": first,
            "last_name": last,
            "gender": gender,
            "date_of_birth": today - datetime.timedelta(days=rng.randint(20 * 365, 70 * 365)),
            "mobile": names["phone"](n),
            "email": f"{first.lower()}.{last.lower()}{n}@example.com" if n % 3 == 0 else "",
            "city": city,
            "state": state,
            "postal_code": postal_code,
            "house": f"{rng.randint(1, 200)}",
            "street": rng.choice(["Main Road", "Church Street", "Station Road", "Park Lane", "Lake View"]),
            "marital_status": rng.choice(["married", "married", "single"]),
            "blood_group": rng.choice(["A+", "B+", "O+", "AB+", "O-", ""]),
            "assigned_doctor": doctors[n % len(doctors)] if doctors else None,
            "insurance_provider": insurers[n % len(insurers)] if n % 4 == 0 else None,
            "insurance_policy_number": f"POL-{rng.randint(100000, 999999)}" if n % 4 == 0 else "",
            "external_reference": reference,
            "registration_date": today - datetime.timedelta(days=rng.randint(0, 600)),
        }
        if clinic.code == "ABC01" and gender == "female" and data["marital_status"] == "married":
            data.update(relation="W/o", relative_name=f"{rng.choice(names['male'])} {last}")
        patient = services.patient_register(clinic=clinic, user=desk, data=data, allow_duplicate=True)
        if n % 40 == 0:
            upload = SimpleUploadedFile("consent-form.pdf", MINIMAL_PDF, content_type="application/pdf")
            services.document_upload(patient=patient, user=desk, upload=upload, name="Signed consent", document_type="consent")


def _existing_insurer(clinic, name):
    return InsuranceProvider.objects.for_clinic(clinic).filter(name=name).first()
