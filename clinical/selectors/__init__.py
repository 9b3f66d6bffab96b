"""Reads of the clinical record that pages and the API share, by subject. Every read goes
through the patient's visibility (``patients_visible_to``): another clinic's id, or a patient
outside a restricted doctor's care team, is a 404."""

from clinical.selectors.dashboards import (
    DASHBOARD_LIST,
    OPEN_LAB_STATUSES,
    doctor_clinical_day,
    follow_ups_due,
    front_desk_follow_ups,
    lab_day,
    nurse_day,
    pharmacy_day,
    waiting_for_vitals,
)
from clinical.selectors.labs import (
    critical_results,
    formulary,
    lab_catalog,
    lab_order_counts,
    lab_order_get_for_user,
    lab_order_tests,
    lab_orders_for_worklist,
    lab_orders_of_patient,
    lab_result_get_for_user,
    register_order_timeline_sources,
    result_is_reported,
    result_trends,
    results_to_review,
)
from clinical.selectors.prescriptions import (
    current_prescribed_medicines,
    pharmacy_worklist,
    prescription_get_for_user,
    prescription_items,
    prescription_of_visit,
    prescriptions_of_patient,
)
from clinical.selectors.summary import (
    NOT_READ,
    SUMMARY_RECENT_VISITS,
    SUMMARY_UPCOMING,
    active_allergies_and_state,
    allergy_alerts,
    patient_summary,
    register_timeline_sources,
    vitals_summary_line,
)
from clinical.selectors.visits import (
    history_item_get,
    history_items,
    open_visit_notices,
    visit_get_for_user,
    vitals_of_patient,
    vitals_of_visit,
    vitals_of_visit_and_latest,
)
