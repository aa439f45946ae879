"""Reading a page as a person reads it: headings, tables and figures;
and the figures (shares, clicks, unique visitors, points) as numbers."""

import html as htmllib
import re
from html.parser import HTMLParser

# Column headings of the pages and the JSON/CSV keys they stand for.
COLUMNS = {"Shares": "shares", "Clicks": "clicks", "Unique visitors": "visitors", "Points": "points"}


class Page(HTMLParser):
    """A page as its reader sees it: its headings (h1 to h3); each table as
    rows of {column: text}, with the heading above it; each figure of a
    <dl> (term and value). Text is whitespace collapsed, entities
    decoded."""

    CAPTURED = {"h1", "h2", "h3", "th", "td", "dt", "dd"}

    def __init__(self, html):
        super().__init__()
        self.heading, self.headings, self.tables, self.figures = "", [], [], []
        self._open, self._term, self._row = [], None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in self.CAPTURED:
            self._open.append([tag, ""])
        elif tag == "table":
            self.tables.append({"heading": self.heading, "columns": [], "rows": []})
        elif tag == "tr":
            self._row = []

    def handle_data(self, data):
        for capture in self._open:
            capture[1] += data

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            table = self.tables[-1]
            if not table["columns"]:
                table["columns"] = self._row
            else:
                table["rows"].append(dict(zip(table["columns"], self._row, strict=False)))
            self._row = None
        if not self._open or self._open[-1][0] != tag:
            return
        text = " ".join(self._open.pop()[1].split())
        if tag in ("h1", "h2", "h3"):
            self.heading = text
            self.headings.append(text)
        elif tag in ("th", "td") and self._row is not None:
            self._row.append(text)
        elif tag == "dt":
            self._term = text
        elif tag == "dd" and self._term is not None:
            self.figures.append((self.heading, self._term, text))
            self._term = None

    def row(self, heading, first_cell):
        """The row, of the first table under ``heading``, whose name (or
        other label) starts with ``first_cell``: {column: number}."""
        table = next((t for t in self.tables if t["heading"].startswith(heading)), None)
        assert table is not None, f"no table under {heading!r}; the headings: {self.headings}"
        for row in table["rows"]:
            if any(cell.startswith(first_cell) for cell in row.values()):
                return numbers(row)
        raise AssertionError(f"no row {first_cell!r} under {heading!r}: {table['rows']}")

    def dl(self, heading):
        """The figures of the <dl> under ``heading``: {term: number}."""
        return numbers({term: value for h, term, value in self.figures if h.startswith(heading)})


def numbers(labelled):
    """{figure: int} of the columns or terms that name a figure."""
    return {COLUMNS.get(label, label): int(value.replace(",", ""))
            for label, value in labelled.items() if label in COLUMNS or label in COLUMNS.values()}


def share_links(html):
    """{network: address} of a page's share buttons."""
    return {net: htmllib.unescape(href)
            for net, href in re.findall(r'data-share-network="(\w+)"[^>]*href="([^"]+)"', html)}
