"""The dose-check findings read the same on the orders list, the patient view and the sheets."""

from pumpmgr.records import FindingRecord
from pumpmgr.wording import finding_text, findings_texts


def test_a_warning_reads_with_its_reason_and_without_the_message_s_full_stop() -> None:
    finding = FindingRecord("warning", "soft_max", "Above the usual maximum.", "ward round")
    assert finding_text(finding) == "warning: Above the usual maximum (reason: ward round)"


def test_a_finding_without_a_reason_reads_alone() -> None:
    assert finding_text(FindingRecord("stop", "hard_max", "Above the hard maximum")) == (
        "stop: Above the hard maximum"
    )


def test_ok_findings_are_left_out() -> None:
    findings = [
        FindingRecord("ok", "ok", "Within the limits"),
        FindingRecord("warning", "titration", "A large step.", "gradual titration"),
    ]
    assert findings_texts(findings) == ("warning: A large step (reason: gradual titration)",)
