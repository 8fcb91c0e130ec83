"""A patient's pump record as FHIR R4 resources, for the hospital's electronic record.

Pure layer: the standard library and pint, through the other pure pumpmgr modules; it builds
plain JSON values (dicts), so it needs no FHIR library (the tests validate every resource kind
with ``fhir.resources``' R4 models). What becomes what:

- ``Patient``: the MRN as identifier in the clinic's MRN system (a URI set by the clinic), name,
  birth date, active or deceased.
- ``Device``: each pump (model, serial number, status) and each catheter in force (model, its
  pump as ``parent``); the implant date as an extension, and as the implant ``Procedure``.
- ``MedicationRequest``: each prescription version, with a contained ``Medication`` holding the
  solution (each drug's strength in ``ug/mL`` or ``mg/mL``), one dosage per drug with its daily
  dose as ``rateQuantity`` in ``ug/d`` or ``mg/d``, and the patient-activated bolus as an
  as-needed dosage. A corrected version is ``entered-in-error``, a superseded one ``completed``.
- ``MedicationAdministration``: each refill, the volume added as the dose in ``mL``, the
  solution with its lot, expiry and source, the nurse as ``performer`` and the second nurse as
  ``verifier``.
- ``Observation``: each refill's expected and aspirated residual, the reservoir volume after it,
  the bridge or priming bolus, and the discrepancy verdict (abnormal when it says investigate).
- ``Procedure``: implants, replacements, explants, catheter revisions and MRIs.

Every quantity carries its UCUM code; every instant is UTC with its offset. Codes pumpmgr has no
standard terminology for (the observations, the procedures) are in pumpmgr's own code systems
(``urn:pumpmgr:fhir:...``) with a plain-text name beside them: the hospital's interface team maps
them to LOINC or SNOMED CT. Ids and full URLs are ``urn:uuid:`` values derived from the MRN system
and pumpmgr's record ids, so the same record exported twice has the same id.

Over 600 lines: one bundle's resource builders, each small, sharing the id registry and the catalog.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pumpmgr import catalogs
from pumpmgr.errors import CatalogError
from pumpmgr.records import (
    CatheterRecord,
    EventRecord,
    Ingredient,
    PatientChart,
    PrescriptionRecord,
    PumpRecord,
    RefillRecord,
)
from pumpmgr.refill import VERDICT_WORDS
from pumpmgr.units import ML, Quantity, as_unit
from pumpmgr.visit import is_constant_flow, program_of

UCUM = "http://unitsofmeasure.org"
#: SNOMED CT's intrathecal route (the route of every pumpmgr drug).
SNOMED = "http://snomed.info/sct"
INTRATHECAL = {"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}
PERFORM_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
#: pumpmgr's own systems, for what has no standard code.
RECORD_SYSTEM = "urn:pumpmgr:record"
OBSERVATION_CODES = "urn:pumpmgr:fhir:observation"
PROCEDURE_CODES = "urn:pumpmgr:fhir:procedure"
VERDICT_CODES = "urn:pumpmgr:fhir:residual-verdict"
IMPLANT_DATE = "urn:pumpmgr:fhir:extension:implant-date"

#: What each residual observation holds (code, display).
OBSERVATIONS = {
    "expected": ("expected-residual", "Expected reservoir residual before refill"),
    "aspirated": ("aspirated-residual", "Aspirated reservoir residual at refill"),
    "final": ("reservoir-after-refill", "Reservoir volume after refill"),
    "bolus": ("bolus-volume", "Bridge or priming bolus volume"),
    "verdict": ("residual-verdict", "Residual discrepancy verdict"),
}
PROCEDURES = {
    "implant": "Intrathecal pump implant",
    "replacement": "Intrathecal pump replacement",
    "explant": "Intrathecal pump explant",
    "catheter_revision": "Intrathecal catheter revision",
    "mri": "MRI with an implanted intrathecal pump",
}
_MASS_UCUM = {"mcg": "ug", "mg": "mg"}


def _number(value: float) -> float | int:
    """A magnitude as a JSON number: 12 significant digits (no binary noise), whole numbers
    without a fraction."""
    rounded = float(f"{value:.12g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _quantity(quantity: Quantity, unit: str, ucum: str) -> dict[str, Any]:
    return {
        "value": _number(float(quantity.to(as_unit(unit)).m)),
        "unit": ucum,
        "system": UCUM,
        "code": ucum,
    }


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _day(value: date) -> str:
    return value.isoformat()


class _Ids:
    """Deterministic ``urn:uuid:`` ids within the namespace of the clinic's MRN system."""

    def __init__(self, mrn_system: str) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, mrn_system)

    def id(self, kind: str, record_id: int | str) -> str:
        return str(uuid.uuid5(self.namespace, f"{kind}/{record_id}"))

    def ref(self, kind: str, record_id: int | str, display: str | None = None) -> dict[str, str]:
        reference = {"reference": f"urn:uuid:{self.id(kind, record_id)}"}
        if display:
            reference["display"] = display
        return reference


def _identifier(kind: str, record_id: int) -> list[dict[str, str]]:
    return [{"system": RECORD_SYSTEM, "value": f"{kind}:{record_id}"}]


def _drug_name(key: str, catalog: catalogs.Catalogs) -> str:
    try:
        return catalog.drug(key).name
    except CatalogError:
        return key


def _medication(
    ingredients: Sequence[Ingredient],
    catalog: catalogs.Catalogs,
    local_id: str,
    *,
    lot: str | None = None,
    expiry: date | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """A contained ``Medication``: the solution, each drug's strength per mL."""
    names = " + ".join(_drug_name(i.drug, catalog) for i in ingredients)
    medication: dict[str, Any] = {
        "resourceType": "Medication",
        "id": local_id,
        "code": {"text": f"{names}, intrathecal solution"},
        "ingredient": [
            {
                "itemCodeableConcept": {
                    "text": _drug_name(i.drug, catalog),
                    "coding": [{"system": "urn:pumpmgr:drug", "code": i.drug}],
                },
                "isActive": True,
                "strength": {
                    "numerator": _quantity(
                        i.concentration, f"{i.display_unit}/mL", _MASS_UCUM[i.display_unit]
                    ),
                    "denominator": {"value": 1, "unit": "mL", "system": UCUM, "code": "mL"},
                },
            }
            for i in ingredients
        ],
    }
    if lot is not None or expiry is not None:
        medication["batch"] = {
            k: v
            for k, v in (
                ("lotNumber", lot),
                ("expirationDate", None if expiry is None else _day(expiry)),
            )
            if v
        }
    if source:
        medication["manufacturer"] = {"display": source}
    return medication


def _entry(ids: _Ids, kind: str, record_id: int | str, resource: dict[str, Any]) -> dict[str, Any]:
    resource["id"] = ids.id(kind, record_id)
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _patient(chart: PatientChart, ids: _Ids, mrn_system: str) -> dict[str, Any]:
    patient = chart.patient
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}],
                    "text": "Medical record number",
                },
                "system": mrn_system,
                "value": patient.mrn,
            }
        ],
        "active": patient.status == "active",
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "birthDate": _day(patient.date_of_birth),
    }
    if patient.status == "deceased":
        resource["deceasedBoolean"] = True
    return _entry(ids, "Patient", patient.id, resource)


def _pump_device(pump: PumpRecord, patient_ref: dict[str, str], ids: _Ids) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "identifier": _identifier("pump", pump.id),
        "extension": [{"url": IMPLANT_DATE, "valueDate": _day(pump.implanted_on)}],
        "status": "active" if pump.status == "active" else "inactive",
        "serialNumber": pump.serial_number,
        "deviceName": [{"name": pump.model_name, "type": "model-name"}],
        "modelNumber": pump.model_key,
        "type": {"text": "Implantable intrathecal drug pump"},
        "patient": patient_ref,
        "note": [
            {
                "text": f"Reservoir {_text_ml(pump.capacity)}; low-reservoir alarm at "
                f"{_text_ml(pump.alarm_volume)}; implanted {_day(pump.implanted_on)}"
                + ("" if pump.explanted_on is None else f"; explanted {_day(pump.explanted_on)}")
            }
        ],
    }
    return _entry(ids, "Device", f"pump-{pump.id}", resource)


def _text_ml(quantity: Quantity) -> str:
    return f"{_number(float(quantity.to(ML).m))} mL"


def _catheter_device(
    catheter: CatheterRecord,
    pump: PumpRecord,
    current: bool,
    patient_ref: dict[str, str],
    ids: _Ids,
    catalog: catalogs.Catalogs,
) -> dict[str, Any]:
    model = catalog.catheters.get(catheter.model_key)
    name = catheter.model_key if model is None else model.name
    implanted = catheter.revised_on or catheter.implanted_on
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "identifier": _identifier("catheter", catheter.id),
        "extension": [{"url": IMPLANT_DATE, "valueDate": _day(implanted)}],
        "status": "active" if current and pump.status == "active" else "inactive",
        "deviceName": [{"name": name, "type": "model-name"}],
        "modelNumber": catheter.model_key,
        "type": {"text": "Intrathecal catheter"},
        "patient": patient_ref,
        "parent": ids.ref("Device", f"pump-{pump.id}", pump.model_name),
        "note": [
            {
                "text": f"Tip at {catheter.tip_level}"
                + ("" if catheter.volume is None else f"; volume {_text_ml(catheter.volume)}")
            }
        ],
    }
    return _entry(ids, "Device", f"catheter-{catheter.id}", resource)


def _dosages(
    rx: PrescriptionRecord, pump: PumpRecord, catalog: catalogs.Catalogs
) -> list[dict[str, Any]]:
    program = program_of(rx, pump)
    daily_volume = program.daily_volume()
    kind = (
        "constant flow"
        if is_constant_flow(pump)
        else (
            "simple continuous"
            if rx.schedule.is_simple
            else f"flex schedule, {len(rx.schedule.steps)} steps"
        )
    )
    dosages = []
    for sequence, ingredient in enumerate(rx.ingredients, 1):
        unit = ingredient.display_unit
        dose = (daily_volume * ingredient.concentration).to(as_unit(f"{unit}/day"))
        dosages.append(
            {
                "sequence": sequence,
                "text": f"{_drug_name(ingredient.drug, catalog)} {_number(float(dose.m))} "
                f"{unit}/day intrathecal, {kind}",
                "route": {"coding": [INTRATHECAL]},
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [
                    {"rateQuantity": _quantity(dose, f"{unit}/day", f"{_MASS_UCUM[unit]}/d")}
                ],
            }
        )
    bolus = rx.patient_bolus
    if bolus is not None:
        unit = rx.primary.display_unit
        dosages.append(
            {
                "sequence": len(dosages) + 1,
                "text": "Patient-activated bolus",
                "asNeededBoolean": True,
                "route": {"coding": [INTRATHECAL]},
                "doseAndRate": [{"doseQuantity": _quantity(bolus.dose, unit, _MASS_UCUM[unit])}],
                "maxDosePerPeriod": {
                    "numerator": {
                        "value": bolus.max_per_day,
                        "unit": "{bolus}",
                        "system": UCUM,
                        "code": "{bolus}",
                    },
                    "denominator": {"value": 1, "unit": "d", "system": UCUM, "code": "d"},
                },
            }
        )
    return dosages


def _prescription(
    rx: PrescriptionRecord,
    pump: PumpRecord,
    status: str,
    prior: int | None,
    patient_ref: dict[str, str],
    ids: _Ids,
    catalog: catalogs.Catalogs,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "contained": [_medication(rx.ingredients, catalog, "solution")],
        "identifier": _identifier("prescription", rx.id),
        "status": status,
        "intent": "order",
        "medicationReference": {"reference": "#solution"},
        "subject": patient_ref,
        "authoredOn": _instant(rx.effective_at),
        "requester": {"display": rx.prescriber},
        "dosageInstruction": _dosages(rx, pump, catalog),
    }
    if prior is not None:
        resource["priorPrescription"] = ids.ref("MedicationRequest", prior)
    notes = [
        f"{f.message} Reason accepted: {f.reason}" for f in rx.findings if f.level == "warning"
    ]
    if rx.correction_reason:
        notes.append(f"Corrects prescription:{rx.corrects_id}: {rx.correction_reason}")
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    return _entry(ids, "MedicationRequest", rx.id, resource)


def _administration(
    refill: RefillRecord,
    pump: PumpRecord,
    status: str,
    patient_ref: dict[str, str],
    ids: _Ids,
    catalog: catalogs.Catalogs,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "contained": [
            _medication(
                refill.ingredients,
                catalog,
                "solution",
                lot=refill.lot_number,
                expiry=refill.expiry,
                source=refill.source,
            )
        ],
        "identifier": _identifier("refill", refill.id),
        "status": status,
        "category": {"text": "Intrathecal pump refill"},
        "medicationReference": {"reference": "#solution"},
        "subject": patient_ref,
        "effectiveDateTime": _instant(refill.performed_at),
        "performer": [
            {
                "function": {"coding": [{"system": PERFORM_FUNCTION, "code": "performer"}]},
                "actor": {"display": refill.nurse},
            },
            {
                "function": {"coding": [{"system": PERFORM_FUNCTION, "code": "verifier"}]},
                "actor": {"display": refill.verifier},
            },
        ],
        "device": [ids.ref("Device", f"pump-{pump.id}", pump.model_name)],
        "dosage": {
            "text": f"Pump reservoir refilled: {_text_ml(refill.volume_added)} added, "
            f"{_text_ml(refill.final_volume)} in the reservoir after",
            "route": {"coding": [INTRATHECAL]},
            "dose": _quantity(refill.volume_added, "mL", "mL"),
        },
    }
    if refill.prescription_id is not None:
        resource["request"] = ids.ref("MedicationRequest", refill.prescription_id)
    notes = [
        n
        for n in (
            refill.discrepancy_note.strip(),
            refill.correction_reason
            and f"Corrects refill:{refill.corrects_id}: {refill.correction_reason}",
        )
        if n
    ]
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    return _entry(ids, "MedicationAdministration", refill.id, resource)


def _observation(
    refill: RefillRecord,
    pump: PumpRecord,
    what: str,
    status: str,
    patient_ref: dict[str, str],
    ids: _Ids,
    value: dict[str, Any],
) -> dict[str, Any]:
    code, display = OBSERVATIONS[what]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": _identifier(f"refill-{what}", refill.id),
        "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "procedure"}]}],
        "code": {
            "coding": [{"system": OBSERVATION_CODES, "code": code, "display": display}],
            "text": display,
        },
        "subject": patient_ref,
        "effectiveDateTime": _instant(refill.performed_at),
        "partOf": [ids.ref("MedicationAdministration", refill.id)],
        "device": ids.ref("Device", f"pump-{pump.id}", pump.model_name),
        **value,
    }
    return _entry(ids, "Observation", f"{what}-{refill.id}", resource)


def _observations(
    refill: RefillRecord, pump: PumpRecord, status: str, patient_ref: dict[str, str], ids: _Ids
) -> list[dict[str, Any]]:
    def ml(quantity: Quantity) -> dict[str, Any]:
        return {"valueQuantity": _quantity(quantity, "mL", "mL")}

    found = []
    if refill.expected_residual is not None:
        found.append(
            _observation(
                refill, pump, "expected", status, patient_ref, ids, ml(refill.expected_residual)
            )
        )
    if refill.aspirated is not None:
        found.append(
            _observation(refill, pump, "aspirated", status, patient_ref, ids, ml(refill.aspirated))
        )
    found.append(
        _observation(refill, pump, "final", status, patient_ref, ids, ml(refill.final_volume))
    )
    if refill.bridge_bolus is not None:
        kind = (
            "bridge"
            if refill.bridge_bolus_given
            else "priming"
            if refill.priming_bolus_given
            else "unspecified"
        )
        found.append(
            _observation(
                refill,
                pump,
                "bolus",
                status,
                patient_ref,
                ids,
                {**ml(refill.bridge_bolus), "note": [{"text": kind}]},
            )
        )
    verdict = refill.discrepancy_verdict or "first-fill"
    value: dict[str, Any] = {
        "valueCodeableConcept": {
            "coding": [{"system": VERDICT_CODES, "code": verdict}],
            "text": "None (first fill of the pump)"
            if verdict == "first-fill"
            else VERDICT_WORDS[verdict].capitalize(),
        }
    }
    if verdict in ("investigate", "found_empty"):
        value["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": "A", "display": "Abnormal"}]}
        ]
    elif verdict == "ok":
        value["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": "N", "display": "Normal"}]}
        ]
    members = [
        e["fullUrl"]
        for e in found
        if e["resource"]["code"]["coding"][0]["code"] in {"expected-residual", "aspirated-residual"}
    ]
    if members:
        value["hasMember"] = [{"reference": m} for m in members]
    if refill.discrepancy_difference is not None:
        value["component"] = [
            {
                "code": {"text": "Expected minus aspirated residual"},
                "valueQuantity": _quantity(refill.discrepancy_difference, "mL", "mL"),
            }
        ]
    if refill.discrepancy_note.strip():
        value["note"] = [{"text": refill.discrepancy_note.strip()}]
    found.append(_observation(refill, pump, "verdict", status, patient_ref, ids, value))
    return found


def _procedure(
    event: EventRecord, pump: PumpRecord | None, status: str, patient_ref: dict[str, str], ids: _Ids
) -> dict[str, Any]:
    display = PROCEDURES[event.kind]
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "identifier": _identifier("event", event.id),
        "status": status,
        "code": {
            "coding": [
                {
                    "system": PROCEDURE_CODES,
                    "code": event.kind.replace("_", "-"),
                    "display": display,
                }
            ],
            "text": display,
        },
        "subject": patient_ref,
        "performedDateTime": _instant(event.occurred_at),
        "recorder": {"display": event.user},
    }
    if pump is not None:
        resource["focalDevice"] = [
            {"manipulated": ids.ref("Device", f"pump-{pump.id}", pump.model_name)}
        ]
    notes = [
        event.summary.strip(),
        *(f"{k}: {v}" for k, v in event.details.items()),
        event.correction_reason
        and f"Corrects event:{event.corrects_id}: {event.correction_reason}",
    ]
    if any(notes):
        resource["note"] = [{"text": n} for n in notes if n]
    return _entry(ids, "Procedure", event.id, resource)


def chart_entries(
    chart: PatientChart,
    *,
    mrn_system: str,
    catalog: catalogs.Catalogs,
    only: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The bundle entries of one patient's chart (UTC instants, as the services give it):
    the patient and devices always, the clinical records all or those in ``only``
    (``refill:12``, ``prescription:5``, ``event:7``, ``catheter:3``)."""
    ids = _Ids(mrn_system)
    patient = _patient(chart, ids, mrn_system)
    patient_ref = {"reference": patient["fullUrl"], "display": chart.patient.display_name}
    entries = [patient]

    def wanted(key: str) -> bool:
        return only is None or key in only

    pumps = {p.id: p for p in chart.pumps}
    for pump in chart.pumps:
        entries.append(_pump_device(pump, patient_ref, ids))
    corrected_catheters = {c.corrects_id for c in chart.catheters if c.corrects_id is not None}
    live_catheters = [c for c in chart.catheters if c.id not in corrected_catheters]
    for pump in chart.pumps:
        own = [c for c in live_catheters if c.pump_id == pump.id]
        for catheter in own:  # devices are context: always there, as the pumps are
            entries.append(
                _catheter_device(catheter, pump, catheter is own[-1], patient_ref, ids, catalog)
            )
    corrected_rx = {p.corrects_id for p in chart.prescriptions if p.corrects_id is not None}
    for pump in chart.pumps:
        versions = [p for p in chart.prescriptions if p.pump_id == pump.id]
        in_force = [p for p in versions if p.id not in corrected_rx]
        for rx in versions:
            if rx.id in corrected_rx:
                status, prior = "entered-in-error", None
            else:
                earlier = [p for p in in_force if (p.effective_at, p.id) < (rx.effective_at, rx.id)]
                status = (
                    "active" if (rx is in_force[-1] and pump.status == "active") else ("completed")
                )
                prior = (
                    rx.corrects_id
                    if rx.corrects_id is not None
                    else (earlier[-1].id if earlier else None)
                )
            if wanted(f"prescription:{rx.id}"):
                entries.append(_prescription(rx, pump, status, prior, patient_ref, ids, catalog))
    corrected_refills = {r.corrects_id for r in chart.refills if r.corrects_id is not None}
    for refill in chart.refills:
        filled = pumps.get(refill.pump_id)
        if filled is None or not wanted(f"refill:{refill.id}"):
            continue
        status = "entered-in-error" if refill.id in corrected_refills else "completed"
        entries.append(_administration(refill, filled, status, patient_ref, ids, catalog))
        entries += _observations(
            refill,
            filled,
            "entered-in-error" if status == "entered-in-error" else "final",
            patient_ref,
            ids,
        )
    corrected_events = {e.corrects_id for e in chart.events if e.corrects_id is not None}
    for event in chart.events:
        if event.kind not in PROCEDURES or not wanted(f"event:{event.id}"):
            continue
        status = "entered-in-error" if event.id in corrected_events else "completed"
        entries.append(_procedure(event, pumps.get(event.pump_id or -1), status, patient_ref, ids))
    return entries


def bundle(
    charts: Iterable[PatientChart],
    *,
    mrn_system: str,
    catalog: catalogs.Catalogs,
    generated_at: datetime,
    only: set[str] | None = None,
) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` (type collection) of the charts' pump records."""
    entries: list[dict[str, Any]] = []
    for chart in charts:
        entries += chart_entries(chart, mrn_system=mrn_system, catalog=catalog, only=only)
    return {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": _instant(generated_at)},
        "type": "collection",
        "timestamp": _instant(generated_at),
        "entry": entries,
    }


def patient_mrns(document: dict[str, Any]) -> list[str]:
    """The MRNs of the patients in a bundle, in its order."""
    return [
        identifier["value"]
        for entry in document.get("entry", [])
        if entry["resource"]["resourceType"] == "Patient"
        for identifier in entry["resource"].get("identifier", [])
    ]
