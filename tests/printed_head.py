"""Read the audit log's head back from a printed sheet, as a nurse reads it off the paper.

Imported by name (``from printed_head import printed_head``) by the sheet tests and by the
tampering harness, which anchors the PostgreSQL log on the head a real sheet prints.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

#: What the footer prints after the generation time and version (text extraction may put
#: the head on a line of its own: it is drawn in another font).
HEAD = re.compile(r"Audit log head\s+(\d+:[0-9a-f]{16})\b")


def printed_head(pdf: bytes) -> str:
    """The head every page of ``pdf`` prints, ``812:3f2a9c01d4e5b6a7``; AssertionError when a
    page prints none, or the pages disagree."""
    heads = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, 1):
        found = HEAD.findall(page.extract_text())
        assert len(found) == 1, f"page {number} prints {len(found)} audit heads: {found}"
        heads.append(found[0])
    assert heads and len(set(heads)) == 1, f"the pages print different heads: {set(heads)}"
    return heads[0]
