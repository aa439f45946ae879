"""CSV files as spreadsheets open them: UTF-8 with a byte-order mark, and
no cell that a spreadsheet would run as a formula."""

import csv
import io
import json


def csv_cell(value):
    """A spreadsheet must not run a title that starts with = as a formula."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(rows):
    """``rows`` as the text of a CSV file (with a BOM, so that Excel reads
    UTF-8)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return "\ufeff" + out.getvalue()
