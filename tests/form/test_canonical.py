import re

"""Canonical JSON: deterministic bytes, schema-valid, titles are official label paths."""

import jsonschema

from xltool.form.canonical import dumps, json_schema, loads
from xltool.form.forms import get_spec
from xltool.ingest.run import ingest


def test_same_content_gives_byte_identical_json(samples_run, tmp_path):
    report, out = samples_run
    again = ingest(report.inbox, tmp_path / "again")
    for a, b in zip(report.files, again.files):
        if a.json:
            assert (out / a.json).read_bytes() == (tmp_path / "again" / b.json).read_bytes()
    def run_json(folder):   # the same but for the folder and when each verdict was given
        text = (folder / "run.json").read_text(encoding="utf-8").replace(str(folder), "")
        return re.sub(r'"checked_at": "[^"]*"', '"checked_at": ""', text)

    assert run_json(out) == run_json(tmp_path / "again")


def test_documents_validate_against_their_form_schema(samples_run):
    report, out = samples_run
    for r in report.files:
        doc = loads((out / r.json).read_text(encoding="utf-8"))
        schema = json_schema(get_spec(doc["form"]["id"]))
        jsonschema.Draft202012Validator.check_schema(schema)
        # JSON Schema sees numbers as floats; validate the parsed-as-float form
        import json
        jsonschema.validate(json.loads(dumps(doc)), schema)


def test_schema_titles_are_official_label_paths():
    schema = json_schema(get_spec("govinfo-annual-2021"))
    props = schema["properties"]["values"]["properties"]
    assert props["t3.withheld_state_secret.natural_person"]["title"] == \
        "三、本年度办理结果 > （三）不予公开 > 1.属于国家秘密 | 自然人"
    assert props["t4.cases.direct_total"]["title"] == "行政诉讼 > 未经复议直接起诉 > 总计"
    assert props["t2_8.admin_fees.fee_amount"]["title"] == "第二十条第（八）项 > 行政事业性收费 | 本年收费金额（单位：万元）"
    assert props["t3.results_total.total"]["x-rule"] == "T3-B"
    assert len(props) == 207
