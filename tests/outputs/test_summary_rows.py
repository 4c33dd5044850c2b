"""An accepted return's share of the summary, made once and stored: what comes back is exact."""

from __future__ import annotations

import random
from decimal import Decimal

from xltool.form.forms import get_spec
from xltool.outputs.summary_rows import ROW_MARK, STYLE_MARKS, fill_sheet_row, pack_sums, summary_row, unpack_sums


def test_stored_numbers_come_back_exact():
    rng = random.Random(7)
    counts = [rng.randrange(0, 10**9) for _ in range(200)]
    for sums in (counts, [*counts[:5], Decimal("14.495"), Decimal("-0.10")], [10**15 - 1, -(10**15 - 1)], [2**70], []):
        back = unpack_sums(pack_sums(sums))
        assert back == sums and [type(v) for v in back] == [type(v) for v in sums]
    assert len(pack_sums(counts)) == 1 + 8 * len(counts)     # the common case: packed integers


def test_a_sheet_row_takes_its_number_and_the_workbooks_styles():
    spec = get_spec("govinfo-annual-2021")
    cells = [c for c in spec.layout.cells.values() if c.table is not None]
    doc = {"status": "accepted", "form": {"id": spec.id}, "agency": "甲局 <&>", "year": 2024,
           "values": {c.id: 3 for c in cells if c.type.numeric}, "source": {"file": "甲.xlsx"}}
    row = summary_row(doc)
    assert row.sums == [3] * sum(c.type.numeric for c in cells)
    xml = fill_sheet_row(row.sheet_row, 17, {"text": 4, "integer": 5, "decimal": 6}).decode("utf-8")
    assert ROW_MARK not in xml and not any(m in xml for m in STYLE_MARKS.values())
    assert xml.startswith('<row r="17"><c r="A17" s="4" t="inlineStr"><is><t>甲局 &lt;&amp;&gt;</t>')
    assert '<c r="F17" s="5"><v>3</v></c>' in xml
