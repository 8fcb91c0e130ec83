"""The footer's QR code: reportlab's QrCode of the record's identifier, drawn once per record
as a PDF form that each of the record's pages shows; and a long clinic name that gives way to
the record's identifier instead of running into it."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfReader
from sheet_samples import GENERATED, SHEETS, layout_problems, pdf_text

from pumpmgr import __version__
from pumpmgr.catalogs import default_catalogs
from pumpmgr.formatting import program_version
from pumpmgr.records import ClinicSettings, PatientChart
from pumpmgr.reports import build_refill_worksheet
from pumpmgr.visit import plan_visit

#: The shipped library: these tests check against its limits (the clinic's, in a clinic).
SHIPPED = default_catalogs()

Sheet = Callable[..., bytes]


def test_each_record_draws_its_code_once(sheet: Sheet) -> None:
    """The day's file: one form per worksheet, shown on that worksheet's pages only."""
    reader = PdfReader(io.BytesIO(sheet("batch")))
    shown = []
    for page in reader.pages:
        forms = page["/Resources"]["/XObject"]
        assert len(forms) == 1  # the page's own record's code
        shown.append(next(iter(forms.values())).get_object().indirect_reference.idnum)
    records = [
        text.split("Record ")[1].split()[0]
        for text in (page.extract_text() for page in reader.pages)
    ]
    assert len(set(shown)) == len(set(records)) > 1
    assert all(
        (shown[a] == shown[b]) == (records[a] == records[b])
        for a in range(len(shown))
        for b in range(len(shown))
    )


def test_a_long_clinic_name_gives_way_to_the_record(
    sample_chart: Callable[[str], PatientChart], settings: ClinicSettings
) -> None:
    long = ClinicSettings(
        clinic_name="Department of Neurosurgery and Neuromodulation, "
        "University Hospital of Somewhere-on-the-Long-River",
        clinic_phone=settings.clinic_phone,
        page_size="Letter",
    )
    chart = sample_chart("baclofen")
    data = build_refill_worksheet(
        chart,
        plan_visit(chart, GENERATED, settings=long, drugs=SHIPPED.drugs),
        long,
        generated_at=GENERATED,
        catalog=SHIPPED,
    )
    assert layout_problems(data) == []
    text = pdf_text(data)
    assert "University Hospital of Somewhere-on-the-Long-River" in text  # page 1's title
    assert text.count("Neuromodulation, University Hospital of\u2026") == 3  # each footer
    assert text.count("Record pumpmgr:visit:100234:NGP204518H:") == 3


@pytest.mark.parametrize("name", SHEETS)
def test_every_page_of_every_sheet_names_the_version(sheet: Sheet, name: str) -> None:
    """The version written once (pumpmgr/__init__.py) is on each page and in the PDF's
    metadata, as --version and the About box print it."""
    reader = PdfReader(io.BytesIO(sheet(name)))
    for number, page in enumerate(reader.pages, 1):
        assert page.extract_text().count(f"by pumpmgr {__version__}") == 1, (name, number)
    assert reader.metadata is not None and reader.metadata.creator == program_version()


def test_the_code_is_black_on_a_sheet_without_the_audit_head(sheet: Sheet) -> None:
    """The form takes the colour of the page it is shown on: the footer's last colour is grey
    when no audit head is printed (the sample sheets print none), so the code sets black
    itself before its first module."""
    reader = PdfReader(io.BytesIO(sheet("batch")))
    form = next(iter(reader.pages[0]["/Resources"]["/XObject"].values())).get_object()
    content = form.get_data().decode("latin-1")
    before_first_run = content.split(" re ")[0]
    assert " rg" in before_first_run, content[:120]
    assert before_first_run.rsplit(" rg", 1)[0].split()[-3:] == ["0", "0", "0"], content[:120]
    assert content.count(" re ") > 50  # the dark runs, each a rectangle
