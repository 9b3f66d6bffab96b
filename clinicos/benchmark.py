"""The benchmark (``make bench``): every page and API call a clinic uses most, against the
``seed_bench`` clinic, served by gunicorn with production settings.

For each request it measures, and prints and saves as JSON:

- over HTTP: c=1 p50 and p99 (sequential requests), requests/s and p99 at 16 connections
  (``wrk``), the response size;
- in the process (Django's test client on the same database): the SQL queries per request,
  the slowest one with its ``EXPLAIN (ANALYZE, BUFFERS)``, and any sequential scan of a
  table of more than 100,000 rows anywhere in the request.

The writes (registering a patient, adding a lead, booking) are measured at c=1 only: each
one creates a row."""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinicos.bench import BENCH_CODE, PASSWORD
from clinicos.models import Clinic, DoctorProfile, User
from clinicos.scoping import scopes_disabled

BIG_TABLE_ROWS = 100_000
RESULTS = Path(settings.BASE_DIR) / "test-artifacts" / "bench"


@dataclass
class Probe:
    name: str
    path: str
    user: str  # the login's role part: frontdesk, doctor, admin…
    method: str = "GET"
    data: dict | None = None  # a form (POST) or a JSON body (API)
    api: bool = False
    headers: dict | None = None  # e.g. HX-Request, for the part of a page a poll fetches


@dataclass
class Result:
    name: str
    path: str
    status: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    rps_16: float | None = None
    p99_16_ms: float | None = None
    bytes: int = 0
    queries: int = 0
    slowest_sql_ms: float = 0.0
    slowest_sql: str = ""
    explain: str = ""
    seq_scans: list[str] = field(default_factory=list)


# --- What is measured ---------------------------------------------------------------------------


LOGINS = "bench.example"  # each role logs in as <role>@bench.example


def probes(clinic: Clinic, *, logins: str = LOGINS) -> list[Probe]:
    """The requests, with real ids and values picked from the clinic's data (the benchmark
    clinic; the query-budget test passes the demo clinic and its logins' domain)."""
    from billing.models import Invoice
    from patients.models import Patient
    from scheduling.models import Appointment

    code = clinic.code
    doctor = DoctorProfile.objects.get(clinic=clinic, user__email=f"doctor@{logins}")
    # The newest of the loaded patients (not one the write probes registered in an earlier run).
    patient = Patient.objects.filter(clinic=clinic).exclude(first_name="Bench").order_by("-id").first()
    assert patient is not None, "seed_bench first"
    # A patient of the doctor's (the care team lets the doctor open the chart).
    theirs = Appointment.objects.filter(clinic=clinic, doctor=doctor, patient__isnull=False).order_by("-starts_at").first()
    chart = theirs.patient_id if theirs else patient.pk
    visit = _a_visit(clinic, doctor, chart)
    today = clinic.today()
    typo = patient.first_name[:-2] + patient.first_name[-1] + patient.first_name[-2] + " " + patient.last_name
    tabs = ["overview", "appointments", "documents", "history", "billing"]
    clinical_tabs = ["summary", "timeline", "vitals", "medical-history", "prescriptions", "labs"]
    invoice = Invoice.objects.filter(clinic=clinic).order_by("-id").first()
    return [
        Probe("dashboard (admin)", f"/c/{code}/", "admin"),
        Probe("dashboard (front desk)", f"/c/{code}/", "frontdesk"),
        Probe("search: name prefix", f"/c/{code}/patients/search/?q=ana", "frontdesk"),
        Probe("search: phone tail", f"/c/{code}/patients/search/?q={patient.mobile[-4:]}", "frontdesk"),
        Probe("search: exact UHID", f"/c/{code}/patients/search/?q={patient.uhid}", "frontdesk"),
        Probe("search: a typo", f"/c/{code}/patients/search/?{urlencode({'q': typo})}", "frontdesk"),
        Probe("search: unknown name", f"/c/{code}/patients/search/?q=Zyxwvut", "frontdesk"),
        Probe("patients list", f"/c/{code}/patients/", "frontdesk"),
        Probe("patients list: doctor filter", f"/c/{code}/patients/?doctor={doctor.pk}", "frontdesk"),
        Probe("patients list: page 500", f"/c/{code}/patients/?page=500", "frontdesk"),
        Probe("chart", f"/c/{code}/patients/{chart}/", "frontdesk"),
        *[Probe(f"chart tab: {tab}", f"/c/{code}/patients/{chart}/tabs/{tab}/", "frontdesk") for tab in tabs],
        *[Probe(f"chart tab: {tab}", f"/c/{code}/patients/{chart}/tabs/{tab}/", "doctor") for tab in clinical_tabs],
        Probe("calendar day, all doctors", f"/c/{code}/schedule/?date={today}", "frontdesk"),
        Probe("calendar day, one department", f"/c/{code}/schedule/?date={today}&department={doctor.department_id}", "frontdesk"),
        Probe("doctor's week", f"/c/{code}/schedule/week/?doctor={doctor.pk}&date={today}", "frontdesk"),
        Probe("Today", f"/c/{code}/schedule/today/", "frontdesk"),
        Probe("Today: the 20 s refresh", f"/c/{code}/schedule/today/", "frontdesk", headers={"HX-Request": "true"}),
        Probe("leads board", f"/c/{code}/leads/", "cro"),
        Probe("visit page", f"/c/{code}/visits/{visit}/", "doctor"),
        Probe("invoice list", f"/c/{code}/billing/", "billing"),
        Probe("API search", f"/api/v1/clinics/{code}/patients?search=ana", "frontdesk", api=True),
        Probe("API patient read", f"/api/v1/clinics/{code}/patients/{patient.pk}", "frontdesk", api=True),
        Probe(
            "API dashboard stats",
            f"/api/v1/clinics/{code}/dashboard/stats?date_from={today.replace(day=1)}&date_to={today}",
            "admin",
            api=True,
        ),
        *([Probe("invoice", f"/c/{code}/billing/invoices/{invoice.pk}/", "billing")] if invoice else []),
    ]


def write_probes(clinic: Clinic, run: int) -> list[Probe]:
    """Writes, each with its own values (a new patient, a new lead, a free slot next year)."""
    code = clinic.code
    doctor = DoctorProfile.objects.get(clinic=clinic, user__email=f"doctor@{LOGINS}")
    day = clinic.today() + datetime.timedelta(days=300 + run // 20)
    while day.weekday() == 6:
        day += datetime.timedelta(days=1)
    slot = datetime.time(9 + (run % 20) // 4, 15 * (run % 4))
    phone = f"+9170{int(time.time() * 1000) % 10**8:08d}"
    return [
        Probe(
            "register a patient",
            f"/c/{code}/patients/new/",
            "frontdesk",
            "POST",
            {"first_name": "Bench", "last_name": f"Patient {run}", "gender": "female", "date_of_birth": "1990-01-01", "mobile": phone},
        ),
        Probe(
            "add a lead",
            f"/c/{code}/leads/new/",
            "cro",
            "POST",
            {"name": f"Bench Lead {run}", "phone": phone, "source": "Website", "inquiry": "IVF", "gender": "female"},
        ),
        Probe(
            "book an appointment",
            f"/c/{code}/schedule/appointments/new/",
            "frontdesk",
            "POST",
            {
                "who": "walk_in",
                "walk_in_name": f"Bench Walk-in {run}",
                "walk_in_phone": phone,
                "doctor": doctor.pk,
                "date": day.isoformat(),
                "time": slot.strftime("%H:%M"),
                "duration_minutes": 15,
                "type": "consultation",
            },
        ),
    ]


def _a_visit(clinic: Clinic, doctor: DoctorProfile, patient_id: int) -> int:
    from clinical import services as clinical
    from clinical.models import Visit
    from patients.models import Patient

    visit = Visit.objects.filter(clinic=clinic, doctor=doctor).order_by("-id").first()
    if visit is None:
        visit = clinical.visit_start(clinic=clinic, user=doctor.user, patient=Patient.objects.get(pk=patient_id))
    return visit.pk


# --- Measuring ----------------------------------------------------------------------------------


class Server:
    """gunicorn with the process's own (production) settings, on a free local port."""

    def __init__(self, workers: int = 2):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "clinicos.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Session:
    """One logged-in user over HTTP: the session cookie made in this process (same database
    and cache as the server), or a bearer token from ``POST /api/v1/auth/login``."""

    def __init__(self, port: int, email: str):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        client = Client()
        client.force_login(User.objects.get(email=email))
        self.cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        self.csrf = ""
        status, body, _ = self.request(
            "POST",
            "/api/v1/auth/login",
            json.dumps({"email": email, "password": PASSWORD}),
            extra={"Content-Type": "application/json", "Cookie": ""},
        )
        self.token = json.loads(body)["token"] if status == 200 else ""

    def headers(self, *, api: bool = False) -> dict:
        headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}
        if api:
            headers["Authorization"] = f"Bearer {self.token}"
        else:
            headers["Cookie"] = self.cookie + (f"; {settings.CSRF_COOKIE_NAME}={self.csrf}" if self.csrf else "")
        return headers

    def request(self, method: str, path: str, body: str | None = None, *, api: bool = False, extra=None):
        headers = {**self.headers(api=api), **(extra or {})}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        return response.status, content, response


def measure_http(session: Session, probe: Probe, repeat: int) -> tuple[int, list[float], int]:
    timings, status, size = [], 0, 0
    for _ in range(repeat):
        started = time.perf_counter()
        status, content, _ = session.request(probe.method, probe.path, api=probe.api, extra=probe.headers)
        timings.append((time.perf_counter() - started) * 1000)
        size = len(content)
    return status, timings, size


def measure_wrk(session: Session, probe: Probe, seconds: int) -> tuple[float | None, float | None]:
    if not shutil.which("wrk"):
        return None, None
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    for name, value in {**session.headers(api=probe.api), **(probe.headers or {})}.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{session.port}{probe.path}")
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    p99_ms = None
    if p99:
        p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return (float(rps.group(1)) if rps else None), p99_ms


def measure_sql(probe: Probe, email: str, token: str) -> dict:
    """Queries per request in this process, the slowest with its plan, big sequential scans."""
    client = Client()
    client.force_login(User.objects.get(email=email))
    kwargs: dict[str, Any] = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "127.0.0.1"}
    if probe.api:
        kwargs["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    for name, value in (probe.headers or {}).items():
        kwargs[f"HTTP_{name.upper().replace('-', '_')}"] = value
    client.get(probe.path, **kwargs)  # warm
    with CaptureQueriesContext(connection) as captured:
        client.get(probe.path, **kwargs)
    queries = [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    result: dict[str, Any] = {
        "queries": len(captured.captured_queries),
        "slowest_sql_ms": 0.0,
        "slowest_sql": "",
        "explain": "",
        "seq_scans": [],
    }
    big = _big_tables()
    for query in queries:
        plan = _explain(query["sql"], analyze=False)
        for table in re.findall(r"Seq Scan on (\w+)", plan):
            if table in big and table not in result["seq_scans"]:
                result["seq_scans"].append(table)
    if queries:
        slowest = max(queries, key=lambda q: float(q["time"]))
        result.update(
            slowest_sql_ms=round(float(slowest["time"]) * 1000, 2),
            slowest_sql=slowest["sql"],
            explain=_explain(slowest["sql"], analyze=True),
        )
    return result


def _explain(sql: str, *, analyze: bool) -> str:
    with connection.cursor() as cursor:
        try:
            cursor.execute(("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        except Exception as error:  # a statement EXPLAIN cannot take (it is only a report)
            return f"(no plan: {error})"


_big: set[str] | None = None


def _big_tables() -> set[str]:
    global _big
    if _big is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s", [BIG_TABLE_ROWS])
            _big = {row[0] for row in cursor.fetchall()}
    return _big


def measure_report(clinic: Clinic) -> dict:
    """The revenue report of last month, generated as the worker does (figures, PDF, XLSX)."""
    from reporting import services as reporting
    from reporting.models import Report

    last = clinic.today().replace(day=1) - datetime.timedelta(days=1)
    report = Report.objects.create(
        clinic=clinic,
        report_type="revenue",
        start_date=last.replace(day=1),
        end_date=last,
        parameters={},
        parameters_key=f"bench-{time.time()}",
        requested_by=User.objects.get(email=f"admin@{LOGINS}"),
    )
    started = time.perf_counter()
    reporting.report_generate(report_id=report.pk)
    seconds = time.perf_counter() - started
    report.refresh_from_db()
    return {"name": "revenue report of last month (generated)", "seconds": round(seconds, 2), "status": report.status}


# --- The run ------------------------------------------------------------------------------------


def run(*, repeat: int = 30, seconds: int = 10, only: str = "", log=print) -> Path:
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark runs on PostgreSQL (DATABASE_URL), against the seed_bench data.")
    with scopes_disabled():
        clinic = Clinic.objects.filter(code=BENCH_CODE).first()
        if clinic is None:
            raise SystemExit("No benchmark clinic: run `manage.py seed_bench` first (make bench does).")
        wanted = [p for p in probes(clinic) if (not only or only.lower() in p.name.lower())]
        server = Server()
        results: list[Result] = []
        try:
            sessions: dict[str, Session] = {}
            for probe in wanted:
                email = f"{probe.user}@{LOGINS}"
                session = sessions.setdefault(probe.user, Session(server.port, email))
                status, timings, size = measure_http(session, probe, repeat)
                rps, p99_16 = measure_wrk(session, probe, seconds)
                sql = measure_sql(probe, email, session.token)
                result = Result(
                    probe.name,
                    probe.path,
                    status=status,
                    p50_ms=round(statistics.median(timings), 1),
                    p99_ms=round(_percentile(timings, 99), 1),
                    rps_16=rps,
                    p99_16_ms=p99_16,
                    bytes=size,
                    **sql,
                )
                results.append(result)
                log(_line(result))
            if not only or "write" in only or "register" in only:
                results += _writes(clinic, sessions, server, repeat, log)
        finally:
            server.stop()
        report = measure_report(clinic)
        log(f"{report['name']}: {report['seconds']} s ({report['status']})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"bench-{timezone.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"results": [asdict(r) for r in results], "report": report}, indent=2, default=str))
    log(f"Saved to {path}")
    return path


def _writes(clinic, sessions, server, repeat, log) -> list[Result]:
    from patients.models import Patient

    results = []
    # Each run of the benchmark writes on from where the last stopped (new names, new slots):
    # a second run reusing the first's would only measure the duplicate warning and the 409.
    first_run = Patient.objects.filter(clinic=clinic, search_name__startswith="bench patient").count()
    for index, probe in enumerate(write_probes(clinic, first_run)):
        session = sessions.setdefault(probe.user, Session(server.port, f"{probe.user}@{LOGINS}"))
        timings, status = [], 0
        for run_number in range(first_run, first_run + min(repeat, 20)):
            form_probe = write_probes(clinic, run_number)[index]
            status_get, page, response = session.request("GET", form_probe.path)
            session.csrf = _cookie(response, settings.CSRF_COOKIE_NAME) or session.csrf
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            body = urlencode({**(form_probe.data or {}), "csrfmiddlewaretoken": token.group(1).decode() if token else ""})
            started = time.perf_counter()
            status, _, _ = session.request(
                "POST",
                form_probe.path,
                body,
                extra={"Content-Type": "application/x-www-form-urlencoded", "Referer": f"https://127.0.0.1{form_probe.path}"},
            )
            timings.append((time.perf_counter() - started) * 1000)
        result = Result(
            probe.name, probe.path, status=status, p50_ms=round(statistics.median(timings), 1), p99_ms=round(_percentile(timings, 99), 1)
        )
        results.append(result)
        log(_line(result))
    return results


def _cookie(response, name: str) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    return ""


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _line(result: Result) -> str:
    at_16 = f"{result.rps_16:7.1f} req/s p99 {result.p99_16_ms or 0:6.0f} ms" if result.rps_16 is not None else " " * 27
    scans = f"  SEQ SCAN: {', '.join(result.seq_scans)}" if result.seq_scans else ""
    return (
        f"{result.name:34} {result.status:3}  p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  {at_16}"
        f"  {result.bytes / 1024:7.1f} KB  {result.queries:3} queries  slowest {result.slowest_sql_ms:6.1f} ms{scans}"
    )
