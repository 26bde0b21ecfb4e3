"""Reports as CSV: text a spreadsheet would run as a formula is neutralised (OWASP's
list: ``=``, ``+``, ``-``, ``@``, tab, carriage return) and the file starts with a UTF-8
BOM, so Excel and WPS read its Chinese as UTF-8; read with ``utf-8-sig`` it parses
back to the same header and rows."""
import csv
import io

import pytest

from services.reporting.csv_format import as_csv, csv_response, report_rows


def read_back(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("title", ["=HYPERLINK(\"http://x.example\")", "+1+cmd|' /C calc'!A0",
                                   "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"])
def test_text_a_spreadsheet_would_run_is_neutralised(title):
    (row,) = read_back(as_csv([{"title": title, "received": 3}]))
    assert row == {"title": "'" + title, "received": "3"}


@pytest.mark.parametrize("title", ["下水道堵塞", "a=b", " -1", "'quoted", ""])
def test_other_text_is_written_as_it_is(title):
    (row,) = read_back(as_csv([{"title": title}]))
    assert row["title"] == title


def test_numbers_are_written_as_numbers_negative_ones_included():
    (row,) = read_back(as_csv([{"overdue_hours": -2.5, "received": 0, "rate": None}]))
    assert row == {"overdue_hours": "-2.5", "received": "0", "rate": ""}


def test_the_file_starts_with_a_bom_that_stays_out_of_the_first_header():
    data = as_csv([{"district": "白云区", "received": 1}])
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(read_back(data)[0]) == ["district", "received"]


def test_the_answer_is_utf8_csv_with_its_bom():
    response = csv_response(report_rows({"district": "baiyun", "from": "2026-11-01",
                                         "to": "2026-11-30", "received": 2,
                                         "by_status": {"closed": 1}}))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.get_data().startswith(b"\xef\xbb\xbfdistrict,from,to,received,by_status.closed")
