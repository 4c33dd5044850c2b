"""The checks that only show across the files of a run, on run results made by hand."""

from xltool.findings import ACCEPTED
from xltool.ingest.crossfile import annotate_across_files
from xltool.outputs.run_report import FileResult


def _returned(path: str, agency: str, year: int = 2024, sha: str = "") -> FileResult:
    r = FileResult(path, 100, 1.0, sha or path, ACCEPTED, [])
    r.agency, r.year = agency, year
    return r


def test_a_file_named_for_other_agencies_names_the_longest_one():
    """Names of every length are found, wherever they start, overlapping or not; the agency's own
    name, and a name inside it, are not another agency."""
    agencies = ["财政局", "北京市财政局", "教育局", "北京市教育委员会", "区教育局"]
    results = [_returned(f"其他/{a}.xlsx", a) for a in agencies]
    results += [
        _returned("收件/北京市财政局转教育局_2024.xlsx", "北京市教育委员会"),   # two others: the longer one is named
        _returned("收件/区教育局_2024.xlsx", "区教育局"),                       # its own name holds 教育局
        _returned("收件/教育局2024.xlsx", "财政局"),
        _returned("收件/区教育局财政局.xlsx", "北京市教育委员会"),             # overlapping: 区教育局, 教育局, 财政局
    ]
    annotate_across_files(results)
    named = {r.path: [f.args.get("name_agency") for f in r.findings if f.code == "filename-agency-mismatch"]
             for r in results}
    assert named["收件/北京市财政局转教育局_2024.xlsx"] == ["北京市财政局"]
    assert named["收件/区教育局_2024.xlsx"] == []
    assert named["收件/教育局2024.xlsx"] == ["教育局"]
    assert named["收件/区教育局财政局.xlsx"] == ["区教育局"]
    assert all(named[f"其他/{a}.xlsx"] == [] for a in agencies)


def test_a_file_named_for_another_year():
    results = [_returned("a/局一_2023年报.xlsx", "局一", 2024), _returned("a/局二_2024.xlsx", "局二", 2024),
               _returned("a/局三_20245.xlsx", "局三", 2024)]
    annotate_across_files(results)
    years = {r.path: [f.args.get("name_year") for f in r.findings if f.code == "filename-year-mismatch"] for r in results}
    assert years == {"a/局一_2023年报.xlsx": [2023], "a/局二_2024.xlsx": [], "a/局三_20245.xlsx": []}


def test_a_name_marked_by_chance_is_never_taken_for_an_agency():
    """The agencies' names are kept as bits of their hashes: with every bit set (every substring
    marked, as by chance), only the names of the run's agencies are found."""
    from xltool.ingest.crossfile import _AgencyNames
    from xltool.outputs.run_files import ListedFiles

    agencies = _AgencyNames(ListedFiles([_returned("a/财政局.xlsx", "财政局"), _returned("a/教育局.xlsx", "教育局")]))
    agencies.starts[:] = agencies.names[:] = b"\x01" * len(agencies.names)
    assert agencies.others("教育局财政局转办_2024.xlsx", "教育局") == {"财政局"}
    assert agencies.others("卫生局_2024.xlsx", "教育局") == set()
