"""How long a post is: one rule (content.sharing.caption_length), which the
server checks and both pages' counters in the browser apply. One table,
tests/data/caption_lengths.json, holds what it must say for emoji,
combining marks, white space and links; the server and Chromium (the
share page's and the editor's counters) are checked against every row, and
against each other on generated texts."""

import json
import pathlib
import random

import pytest

from helpers import make_item, make_person
from intranet_plugin.content.sharing import NETWORKS, SPACES, caption_length
from intranet_plugin.models import Item

TABLE = json.loads((pathlib.Path(__file__).parent / "data" / "caption_lengths.json").read_text())
EDITOR_COUNTERS = ("x", "linkedin", "xing")  # under the editor's default text
SHARE_COUNTERS = ("x", "linkedin", "bluesky", "threads", "mastodon")  # on a share-page card


@pytest.mark.parametrize("row", TABLE, ids=[row["why"] for row in TABLE])
def test_the_server_counts_as_the_table_says(row):
    assert caption_length(row["network"], row["text"]) == row["length"]


def test_the_stripped_characters_are_those_of_str_strip():
    assert SPACES == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def test_the_editor_accepts_what_x_counts_as_fitting(app, client):
    """Links in the text count 23 on X, an emoji once: both fit."""
    from helpers import login

    make_person("joris", role="editor")
    login(client, "joris")
    links = " ".join(f"https://www.example.com/{n}/" + "a" * 80 for n in range(10))  # 10 × 23 + 9 spaces
    form = {"url": "https://www.example.com/news/1", "title": "Wind", "kind": "news", "language": "en",
            "status": "draft", "caption": "Hello", "captions-x": [links, "\U0001F600" * 256]}
    assert client.post("/editor/items/new", data=form).status_code == 302
    assert Item.get().captions["x"] == [links, "\U0001F600" * 256]
    form.update({"url": "https://www.example.com/news/2", "captions-x": "\U0001F600" * 257})
    response = client.post("/editor/items/new", data=form)
    assert response.status_code == 400
    assert "X, variant 1 counts 281 characters, more than the 280 allowed." in response.get_data(as_text=True)


# -- in the browser ---------------------------------------------------------------------

def generated_texts(n=300, seed=11):
    """Texts built from the pieces the rule has to agree on."""
    pieces = ["a", "Z", " ", "\u00a0", "\ufeff", "\x1f", "\t", "\r\n", "\n", "e\u0301", "\u0301", "\u0303",
              "\U0001F600", "\U0001F469\u200d\U0001F467", "\U0001F1F3\U0001F1F1", "https://", "http://ex.am/ple",
              "HTTPS://x.y/z?q=1", "ftp://h", "\u212b", "\u1112\u1161\u11ab", "\u65e5", ".", "\u3000", "\u2028"]
    rng = random.Random(seed)
    return [{"text": "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))),
             "network": rng.choice(list(NETWORKS))} for _ in range(n)]


def mismatches(rows, counted):
    """(why, expected, counted) of each row the browser counted otherwise."""
    return [(row["why"], row["length"], n) for row, n in zip(rows, counted, strict=True) if n != row["length"]]


COUNT_IN_FIELD = """([selector, rows]) => {
    const area = document.querySelector(selector);
    const scope = area.closest(".field, [data-item]");
    return rows.map((row) => {
        area.value = row.text;
        area.dispatchEvent(new Event("input", {bubbles: true}));
        return Number(scope.querySelector(`[data-counter="${row.network}"] b`).textContent);
    });
}"""


def test_the_browser_counts_as_the_table_says(make_app, chromium):
    from helpers.browser import serve, signed_in_page

    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base)) as (base, app):
        make_person("joris", display_name="Joris van Dijk", role="editor")
        item = make_item("Wind farm opens")
        context, page, console = signed_in_page(chromium, base, "Joris van Dijk")

        # The share page: its cards' counters, and the counting function itself.
        rows = [row for row in TABLE if row["network"] in SHARE_COUNTERS]
        shown = page.evaluate(COUNT_IN_FIELD, [f"#caption-{item.id}", rows])
        assert mismatches(rows, shown) == []
        counted = page.evaluate("rows => rows.map(r => Ambassador.captionLength(r.network, r.text))", TABLE)
        assert mismatches(TABLE, counted) == []
        generated = generated_texts()
        counted = page.evaluate("rows => rows.map(r => Ambassador.captionLength(r.network, r.text))", generated)
        assert [(row["text"], row["network"], n) for row, n in zip(generated, counted, strict=True)] == [
            (row["text"], row["network"], caption_length(row["network"], row["text"])) for row in generated]

        # The editor: the counters under the default text.
        page.goto(f"/editor/items/{item.id}")
        rows = [row for row in TABLE if row["network"] in EDITOR_COUNTERS]
        shown = page.evaluate(COUNT_IN_FIELD, ["#f-caption", rows])
        assert mismatches(rows, shown) == []

        assert console.messages == []
        context.close()
