"""Data in and out of ClinicOS: FHIR R4 (``fhir``) and its API (``api``). It reads the other
apps' rows and writes nothing."""
