"""The visit note's template and record ids (pumpmgr.visit_note), without a database."""

from __future__ import annotations

import pytest

from pumpmgr.errors import InputError
from pumpmgr.note_template import (
    FIELDS,
    KINDS,
    default_template_text,
    fill_template,
    parse_template,
)
from pumpmgr.visit_note import RecordRef, due_reason_text, parse_record_ref


def test_the_shipped_template_uses_every_section_and_only_known_names() -> None:
    template = parse_template(default_template_text())
    assert set(template.sections) == set(KINDS)
    # every fact the issue asks of a refill note is in the shipped template
    for name in (
        "nurse",
        "verifier",
        "expected",
        "aspirated",
        "verdict",
        "volume_added",
        "final_volume",
        "dose_before",
        "dose_now",
        "bolus",
        "refill_due",
        "due_reason",
    ):
        assert f"${name}" in template.sections["refill"], name
        assert name in FIELDS["refill"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[refill]\n$when\n[prescription]\n$when\n", "missing the section [event]"),
        ("hello\n[refill]\n$when", "line 1: text before the first section"),
        ("[refill]\n$when\n[refill]\n$when", "line 3: the section [refill] comes twice"),
        ("[refil]\n$when", "line 1: unknown section [refil]"),
        (
            "[refill]\n$nurse\n[prescription]\n$nurse\n[event]\n$when",
            "[prescription]: unknown name $nurse",
        ),
        ("[refill]\ncost 5$\n[prescription]\n$when\n[event]\n$when", "a $ that starts no name"),
        ("[refill]\n\n[prescription]\n$when\n[event]\n$when", "[refill]: the section is empty"),
        ("[refill]\n" + "x" * 9000, "at most 8000 characters"),
    ],
)
def test_a_bad_template_is_refused_naming_the_line_or_section(text: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_template(text)
    assert caught.value.field == "note template"
    assert words in caught.value.message


def test_comments_dollars_and_empty_lines_of_names() -> None:
    template = parse_template(
        "# a comment\n[refill]\nPaid $$5 at $when\n$correction\nend\n"
        "[prescription]\n$when\n[event]\n$when\n"
    )
    text = fill_template(
        template.sections["refill"], {"when": "Mon 1 Dec 2026 09:00", "correction": ""}
    )
    assert text == "Paid $5 at Mon 1 Dec 2026 09:00\nend\n"


@pytest.mark.parametrize(
    "text, ref",
    [
        ("refill:12", RecordRef("refill", 12)),
        ("pumpmgr:refill:12", RecordRef("refill", 12)),
        (" Prescription:5 ", RecordRef("prescription", 5)),
        ("event:7", RecordRef("event", 7)),
    ],
)
def test_record_ids(text: str, ref: RecordRef) -> None:
    assert parse_record_ref(text) == ref
    assert str(ref) == f"{ref.kind}:{ref.id}"


@pytest.mark.parametrize("text", ["refill", "refill:", "refill:0", "refill:-3", "pump:3", "12"])
def test_a_bad_record_id_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="is not a record id; write refill:ID"):
        parse_record_ref(text)


def test_the_due_reason_reads_as_on_the_worksheet() -> None:
    assert due_reason_text("alarm", buffer_days=7, constant_flow=False) == (
        "alarm date with every bolus taken, minus the 7-day buffer, on an open clinic day"
    )
    assert due_reason_text("alarm", buffer_days=5, constant_flow=True).startswith(
        "planning volume date minus the 5-day buffer"
    )
    assert due_reason_text("stability", buffer_days=7, constant_flow=False, stability_days=90) == (
        "drug's in-pump stability limit of 90 days, on an open clinic day"
    )
