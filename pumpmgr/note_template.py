"""The visit note's template: its three sections, the names each may use, and the check an
administrator's edited template passes before it is saved.

Pure layer: the standard library and pumpmgr's resources folder. :mod:`pumpmgr.visit_note` fills
a checked template with a record's values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Literal

from pumpmgr.errors import Code, InputError
from pumpmgr.resources_locator import resources_dir

NoteKind = Literal["refill", "prescription", "event"]
KINDS: tuple[NoteKind, ...] = ("refill", "prescription", "event")
#: Where the shipped template lives, under pumpmgr's resources folder.
TEMPLATE_FILE = ("notes", "visit_note.txt")
#: An administrator's template is at most this long (a note, not a document).
TEMPLATE_LIMIT = 8000

_COMMON = {
    "patient": "the patient's name, family name first",
    "mrn": "the medical record number",
    "born": "the date of birth",
    "pump": "the pump's model and serial number",
    "when": "when it happened (the clinic's time)",
    "refill_due": "the next refill-due date",
    "due_reason": "why the refill is due then",
    "correction": "which record this one corrects and why (empty otherwise)",
    "record": "the record's id in pumpmgr, e.g. refill:12",
    "clinic": "the clinic's name",
    "clinic_phone": "the clinic's phone",
}
#: Every name a template section may use, with what it stands for.
FIELDS: dict[NoteKind, dict[str, str]] = {
    "refill": {
        **_COMMON,
        "nurse": "the nurse who did the refill",
        "verifier": "the second nurse, who checked it",
        "expected": "the expected residual",
        "aspirated": "the aspirated residual",
        "difference": "expected minus aspirated",
        "verdict": "the discrepancy verdict and what it means",
        "restart": "whether the refill was a restart: why, the time without drug, the "
        "over-infusion risk",
        "discrepancy_note": "the nurse's note on the discrepancy",
        "previous_fill": "the reservoir volume after the previous fill",
        "volume_added": "the volume added",
        "final_volume": "the reservoir volume after the refill",
        "solution": "the drugs and concentrations filled",
        "lot": "the solution's lot number",
        "expiry": "the solution's expiry date",
        "source": "where the solution came from",
        "needle_confirmed": "needle position confirmed (yes or no)",
        "running_confirmed": "pump running after the refill confirmed (yes or no)",
        "dose_before": "each drug's daily dose before the refill",
        "dose_now": "each drug's daily dose after the refill",
        "program": "the program and daily volume after the refill",
        "bolus": "the bridge or priming bolus given",
        "programmer": "the programmer's own figures and whether they match",
        "interrogation": "the programmer's reading before the refill",
        "site": "the site and pocket as found",
        "symptoms": "the symptoms asked (withdrawal, overdose)",
        "alarm": "the low-reservoir alarm date planned at the refill",
    },
    "prescription": {
        **_COMMON,
        "prescriber": "the prescriber",
        "solution": "the drugs and concentrations",
        "dose_before": "each drug's daily dose under the version before",
        "dose_now": "each drug's daily dose under this version",
        "change": "the change of the dosed drug's daily dose, in percent",
        "program": "the program and daily volume",
        "patient_bolus": "the patient-activated bolus settings",
        "warnings": "the warnings accepted, each with its reason",
    },
    "event": {
        **_COMMON,
        "event": "what kind of event",
        "recorded_by": "who recorded it",
        "summary": "the note written with it",
        "details": "the event's checks (e.g. the post-MRI check)",
    },
}

_SECTION = re.compile(r"^\[(\w+)\]\s*$")


@dataclass(frozen=True)
class NoteTemplate:
    """A checked template: one section of text for each kind of record."""

    sections: Mapping[NoteKind, str]


def default_template_text() -> str:
    """The template pumpmgr ships."""
    return resources_dir().joinpath(*TEMPLATE_FILE).read_text(encoding="utf-8")


def parse_template(text: str, field: str = "note template") -> NoteTemplate:
    """The template in ``text``, checked: each of the three sections once, nothing before the
    first, and only the names :data:`FIELDS` lists for each. Refused with ``field`` named."""

    def refuse(message: str) -> InputError:
        return InputError(f"{field}: {message}", code=Code.OUT_OF_RANGE, field=field)

    if len(text) > TEMPLATE_LIMIT:
        raise refuse(f"at most {TEMPLATE_LIMIT} characters, not {len(text)}")
    sections: dict[NoteKind, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        header = _SECTION.match(line.strip())
        if header is not None:
            name = header.group(1).lower()
            if name not in KINDS:
                raise refuse(
                    f"line {number}: unknown section [{name}]; the sections are "
                    "[refill], [prescription] and [event]"
                )
            if name in sections:
                raise refuse(f"line {number}: the section [{name}] comes twice")
            current = sections[name] = []
            continue
        if current is None:
            if line.strip():
                raise refuse(f"line {number}: text before the first section; start with [refill]")
            continue
        current.append(line)
    missing = [k for k in KINDS if k not in sections]
    if missing:
        raise refuse("missing the section " + ", ".join(f"[{k}]" for k in missing))
    checked: dict[NoteKind, str] = {}
    for kind, lines in sections.items():
        body = "\n".join(lines).strip("\n")
        template = Template(body)
        if not template.is_valid():
            raise refuse(f"[{kind}]: a $ that starts no name; write $$ for a dollar sign")
        unknown = sorted(set(template.get_identifiers()) - set(FIELDS[kind]))
        if unknown:
            raise refuse(
                f"[{kind}]: unknown name{'s' if len(unknown) > 1 else ''} "
                + ", ".join(f"${u}" for u in unknown)
            )
        if not body.strip():
            raise refuse(f"[{kind}]: the section is empty")
        checked[kind] = body
    return NoteTemplate(checked)


def fill_template(body: str, values: Mapping[str, str]) -> str:
    """``body`` with every name replaced; a line made only of empty names is left out."""
    lines = []
    for line in body.splitlines():
        template = Template(line)
        names = template.get_identifiers()
        filled = template.substitute(values)
        if names and not filled.strip():
            continue
        lines.append(filled.rstrip())
    return "\n".join(lines).strip("\n") + "\n"
