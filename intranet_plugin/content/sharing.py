"""Sharing: the networks and the limits of their posts, the one rule of how
long a post is, the networks' share URLs, and the signed share tokens
behind every share button.

Only the networks' official share URLs are used: no API keys, no OAuth.
"""

import functools
import hmac
import re
import secrets
import time
import unicodedata
from typing import NamedTuple
from urllib.parse import quote

import regex
from flask import current_app
from itsdangerous import BadSignature, Serializer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes

from intranet_plugin.content.guidelines import text_rules
from intranet_plugin.models import ShareEvent, TrackedLink, db, utcnow

# Networks in button order, with the limits of their post text. X shortens
# every link to t.co and counts it as ``link_length`` characters. Their
# names are in intranet_plugin.labels.
#
# ``takes_text``: the share URL carries the post's text, so the dialog
# opens with it. Facebook's sharer and XING's share plugin take only the
# link (XING documents ``url`` and ``follow_url``, dev.xing.com/plugins/
# share_button/docs): for them the text goes to the clipboard first, and
# the person pastes it into the post that opens (the two steps of
# share/_paste_dialog.html on the share page, share/paste.html otherwise).
#
# Bluesky counts grapheme clusters (``"count": "graphemes"``: 300 of them)
# and its composer shows a link as its host and the start of its path: a
# link is allowed 30 of them (our tracked links are shorter). Mastodon
# counts every link as 23 characters, whatever its length. Mastodon's
# ``server`` is the person's own (Person.mastodon_server): its share page
# is on that server.
NETWORKS = {
    "linkedin": {"limit": 3000, "takes_text": True},
    "x": {"limit": 280, "takes_text": True, "link_length": 23},
    "facebook": {"limit": 63206, "takes_text": False},
    "xing": {"limit": 420, "takes_text": False},
    "bluesky": {"limit": 300, "takes_text": True, "link_length": 30, "count": "graphemes"},
    "threads": {"limit": 500, "takes_text": True},
    "mastodon": {"limit": 500, "takes_text": True, "link_length": 23, "server": True},
    "telegram": {"limit": 4096, "takes_text": True},
    "whatsapp": {"limit": 65536, "takes_text": True},
    "email": {"limit": 65536, "takes_text": True},
}
X_LINK_LENGTH = NETWORKS["x"]["link_length"]
COPY = "link"  # the copy-link button's network
# Links handed out without a share dialog of a network: the phone's share
# sheet (Web Share API) and the personal QR code. Each is a source of its
# own in every figure, like a network.
DEVICE, QR = "device", "qr"
MAX_CAPTION = 3000


# A Mastodon server as a person gives it: a plain DNS host name (no
# scheme, path, port or address), at most 253 characters.
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def mastodon_host(value):
    """The host name of a Mastodon server as typed ("social.example.org",
    also with capitals, a trailing dot or in Unicode), in its ASCII form;
    None when it is not a host name. Only checked, never looked up."""
    value = (value or "").strip(SPACES).rstrip(".").lower()
    try:
        host = value.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    return host if all(_HOST_LABEL.fullmatch(label) for label in labels) else None


def networks_of(person):
    """The networks whose buttons the person sees, in button order: their
    choice, else all."""
    chosen = [n for n in NETWORKS if n in (person.networks or ())]
    return chosen or list(NETWORKS)


def mail_networks_of(person):
    """The networks whose buttons an e-mail to the person carries: their
    networks, but one that needs the person's server (Mastodon) only once
    they have given it: an e-mail cannot ask for it."""
    return [n for n in networks_of(person) if not NETWORKS[n].get("server") or person.mastodon_server]


# -- how long a post is ----------------------------------------------------------
#
# Characters are Unicode code points of the text in NFC, after surrounding
# white space is dropped (the server strips a caption before it uses it).
# That is how X counts (twitter-text normalises to NFC and counts code
# points), and it is exact in both Python and every browser: an emoji is
# one character (not the two UTF-16 units of JavaScript's ``length``), and
# "e" with a combining accent is composed into one "é". Grapheme clusters
# were the alternative (a family emoji of five code points would count once):
# closer to what a reader sees, but no network counts that way, and Python
# and the browser's ICU segment by different Unicode versions, so the two
# counters would drift apart with every new emoji.
#
# The browser counts with this same rule: ``CAPTION_RULES`` goes to it as
# data (base.html) and static/app.js applies it; tests/data/caption_lengths.json
# is checked against both.

# The characters str.strip() drops, written out so that the browser drops
# exactly these (JavaScript's trim() has another list).
SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
          "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SPACE_CLASS = "".join(f"\\u{ord(c):04x}" for c in SPACES)
# A web address in a caption, up to the next white space; written so that
# Python's re and JavaScript's RegExp read it alike.
LINK_PATTERN = f"[Hh][Tt][Tt][Pp][Ss]?://[^{_SPACE_CLASS}]+"
_LINK = re.compile(LINK_PATTERN)

# Everything the browser needs to count as the server does.
CAPTION_RULES = {
    "spaces": f"^[{_SPACE_CLASS}]+|[{_SPACE_CLASS}]+$",
    "link": LINK_PATTERN,
    "networks": {net: {"limit": spec["limit"], "link_length": spec.get("link_length"),
                       "count": spec.get("count", "characters")}
                 for net, spec in NETWORKS.items()},
}
_GRAPHEME = regex.compile(r"\X")


def _units(network, text):
    """Code points, or grapheme clusters where the network counts those
    (Bluesky; the browser segments with Intl.Segmenter)."""
    if NETWORKS.get(network, {}).get("count") == "graphemes":
        return len(_GRAPHEME.findall(text))
    return len(text)


def caption_length(network, caption):
    """Characters a post will use on a network, the shared link included."""
    text = unicodedata.normalize("NFC", (caption or "").strip(SPACES).replace("\r\n", "\n"))
    link_length = NETWORKS.get(network, {}).get("link_length")
    if not link_length:
        return _units(network, text)
    rest, links = _LINK.subn("", text) if "://" in text else (text, 0)
    # The text's own links, then a space and the tracked link the share adds.
    return _units(network, rest) + links * link_length + (1 if text else 0) + link_length


# -- the text each network receives ----------------------------------------------
#
# One rule for the page's cards, the share action, the digest's share
# landing page and the editor's preview: a network receives the person's
# own text as written, else the editor's suggestion for it (its own
# variants, else the item's default text) with the item's hashtags that
# the text lacks, each added while the post stays within the network's
# limit. The card shows these very texts (rendered here, by the server);
# the browser only swaps a variant or carries the person's edit.

def _has_tag(text, tag):
    return re.search(rf"(?<![\w#]){re.escape(tag)}(?!\w)", text, re.IGNORECASE) is not None


def _with_hashtags(network, text, hashtags):
    limit = NETWORKS[network]["limit"]
    for tag in hashtags:
        if _has_tag(text, tag):
            continue
        longer = f"{text} {tag}" if text else tag
        if caption_length(network, longer) <= limit:
            text = longer
    return text


def post_texts(item, network):
    """The suggested texts for a network, as the network receives them: the
    editor's variants for it in their order, else the item's default text;
    the programme's disclosure, then the hashtags, added where there is room
    (the disclosure first: it matters more than a hashtag). Never empty."""
    variants = [v.strip(SPACES) for v in (item.captions or {}).get(network) or () if v.strip(SPACES)]
    tags = item.hashtag_list
    disclosure = text_rules().disclosure
    return [_with_hashtags(network, _with_disclosure(network, v, disclosure), tags)
            for v in variants or [(item.caption or "").strip(SPACES)]]


def post_text(item, network, own=""):
    """The text a network receives: the person's own text as written
    (without surrounding white space), else the first suggestion."""
    own = (own or "").strip(SPACES)
    return own or post_texts(item, network)[0]


# -- the disclosure and the words to avoid ------------------------------------------
#
# The programme lead sets a disclosure (a hashtag or phrase such as
# "#werkenbij") and words to avoid (content.guidelines). The suggested texts
# carry the disclosure (post_texts); a text that lacks it or uses a word to
# avoid gets a warning, never a refusal. One rule, applied by the server
# and, for live feedback, by static/app.js (textWarnings) with the same
# steps: both texts in NFC and lower case; a term is in the text where it
# is found with no letter, digit or "_" right before or after it (and no
# "#" before it, so "#werkenbij" is not in "##werkenbij").

def _word_char(ch):
    return ch.isalnum() or ch == "_"


def _contains(text, term):
    text = unicodedata.normalize("NFC", text).lower()
    term = unicodedata.normalize("NFC", term).lower()
    if not term:
        return False
    start = text.find(term)
    while start >= 0:
        end = start + len(term)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if not (before and (_word_char(before) or before == "#")) and not (after and _word_char(after)):
            return True
        start = text.find(term, start + 1)
    return False


def _with_disclosure(network, text, disclosure):
    if not disclosure or _contains(text, disclosure):
        return text
    longer = f"{text} {disclosure}" if text else disclosure
    return longer if caption_length(network, longer) <= NETWORKS[network]["limit"] else text


def text_warnings(text, rules=None):
    """What a post's text should be warned about: ("disclosure", the
    disclosure) when it lacks it, then ("avoid", word) for each word to
    avoid it uses, in the order of the list. Never a reason to refuse."""
    rules = rules or text_rules()
    warnings = []
    if rules.disclosure and not _contains(text, rules.disclosure):
        warnings.append(("disclosure", rules.disclosure))
    warnings.extend(("avoid", word) for word in rules.avoid if _contains(text, word))
    return warnings


def too_long(network, text):
    """(characters used, limit) when the text is over the network's limit,
    else None."""
    used, limit = caption_length(network, text), NETWORKS[network]["limit"]
    return (used, limit) if used > limit else None


def text_groups(item, networks):
    """The card's text boxes: networks that receive the same suggestions
    share one, in button order. A list of (networks, texts)."""
    groups = {}
    for network in networks:
        groups.setdefault(tuple(post_texts(item, network)), []).append(network)
    return [(nets, list(texts)) for texts, nets in groups.items()]


def share_url(network, link_url, caption, title, server=""):
    """The network's own share dialog, with the tracked link, and the text
    where the network takes it. ``server``: the person's Mastodon server."""
    u = quote(link_url, safe="")
    with_link = quote(f"{caption} {link_url}" if caption else link_url, safe="")
    if network == "bluesky":
        # docs.bsky.app/docs/advanced-guides/intent-links: the composer,
        # opened with ``text`` (a link in it becomes the link card).
        return f"https://bsky.app/intent/compose?text={with_link}"
    if network == "threads":
        # developers.facebook.com/documentation/threads/threads-web-intents
        # (March 2026: threads.com, formerly threads.net): the post intent
        # takes ``text`` and ``url`` (shown as a link attachment).
        return f"https://www.threads.com/intent/post?text={quote(caption or '', safe='')}&url={u}"
    if network == "mastodon":
        # The share dialog every Mastodon server hosts, /share?text= (what
        # e.g. github.com/corbindavenport/share-to-mastodon opens), on the
        # person's own server; the browser opens it, the server never does.
        if not server:
            raise ValueError("mastodon needs the person's server")
        return f"https://{server}/share?text={with_link}"
    if network == "telegram":
        # core.telegram.org/widgets/share: t.me/share/url with url and text.
        return f"https://t.me/share/url?url={u}&text={quote(caption or '', safe='')}"
    if network == "linkedin":
        # The post composer, opened with the text (the link in it makes the
        # link card). ``share-offsite/?url=`` takes the link alone; the
        # composer's ``shareActive=true&text=`` is not in LinkedIn's own
        # documentation (learn.microsoft.com/linkedin/consumer/integrations/
        # self-serve/plugins/share-plugin names only the URL) but is what
        # sites moved to when LinkedIn dropped ``summary`` (e.g.
        # github.com/cotes2020/jekyll-theme-chirpy/pull/2307,
        # github.com/ResearchHub/web/pull/331, 2025). Should LinkedIn drop
        # it, the composer still opens and the card's script has copied the
        # text as well.
        text = f"{caption}\n\n{link_url}" if caption else link_url
        return f"https://www.linkedin.com/feed/?shareActive=true&text={quote(text, safe='')}"
    if network == "facebook":
        return f"https://www.facebook.com/sharer/sharer.php?u={u}"
    if network == "xing":
        return f"https://www.xing.com/spi/shares/new?url={u}"
    if network == "x":
        return f"https://x.com/intent/post?text={quote(caption or '', safe='')}&url={u}"
    if network == "whatsapp":
        return "https://wa.me/?text=" + quote(f"{caption}\n{link_url}" if caption else link_url, safe="")
    if network == "email":
        body = f"{caption}\n\n{link_url}" if caption else link_url
        return f"mailto:?subject={quote(title, safe='')}&body={quote(body, safe='')}"
    raise ValueError(f"unknown network {network!r}")


# -- share tokens ------------------------------------------------------------

class _KeyOnceSigner(TimestampSigner):
    """itsdangerous' signer, deriving its key once instead of at every
    signature, and keying its HMAC once (each signature starts from a copy):
    a weekly digest signs some 70 share links per person. The signatures
    are HMACAlgorithm's own."""

    @functools.cache  # noqa: B019 (one signer per serializer, for the life of the app)
    def derive_key(self, secret_key=None):
        return super().derive_key(secret_key)

    @functools.cached_property
    def _keyed(self):
        return hmac.new(self.derive_key(), digestmod=self.algorithm.digest_method)

    def get_signature(self, value):
        mac = self._keyed.copy()
        mac.update(want_bytes(value))
        return base64_encode(mac.digest())


class ShareTokens(URLSafeTimedSerializer):
    """The share tokens' serializer: itsdangerous' own format, with its
    signer made once, and no attempt to compress a payload of a few dozen
    bytes (it never shrinks; tokens that were compressed still read).
    Measured: 13 us a token with URLSafeTimedSerializer, 7.4 us so."""

    default_signer = _KeyOnceSigner

    def make_signer(self, salt=None):
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        signer = self.__dict__.get("_signer")
        if signer is None:
            signer = self._signer = super().make_signer(salt)
        return signer

    def dump_payload(self, obj):
        return base64_encode(Serializer.dump_payload(self, obj))


def _serializer(salt="ambassador.share"):
    # Built once per app: a page renders dozens of share buttons.
    key = "ambassador.share_tokens" + salt[len("ambassador.share"):]
    serializer = current_app.extensions.get(key)
    if serializer is None:
        serializer = current_app.extensions[key] = ShareTokens(current_app.config["SECRET_KEY"], salt=salt)
    return serializer


# An item token (``item_token``) is signed apart from a share token, so
# that neither can pass for the other.
_ITEM_SALT = "ambassador.share.item"


# Where a share token is handed out, and how long it may record a share
# there (seconds). The source is signed into the token, so the lifetime
# cannot be stretched from outside.
LIFETIMES = {
    "web": 7 * 24 * 3600,       # the share page: a page left open for a week still works
    "digest": 14 * 24 * 3600,   # a weekly digest: this week's and next week's
    "alert": 7 * 24 * 3600,     # an instant alert of an urgent item
    "reminder": 14 * 24 * 3600,  # a monthly reminder: its first two weeks
    # An admin's digest preview: never records; the lifetime only keeps the
    # refusal saying why (a preview) rather than "expired".
    "preview": 30 * 24 * 3600,
}
# Tokens of mail sent before tokens had an id: they open the network for a
# while yet, but can no longer record (they could not be used only once).
LEGACY_LIFETIMES = {"email": 30 * 24 * 3600, "web": LIFETIMES["web"]}
PREVIEW = "preview"
MAIL_SOURCES = ("digest", "alert", "reminder", "email")


class ShareToken(NamedTuple):
    person_id: int
    item_id: int
    network: str
    source: str
    token_id: str | None  # None: a token from before ids, which records nothing

    @property
    def records(self):
        """May this token record a share (once)?"""
        return self.token_id is not None and self.source != PREVIEW


def share_token(person_id, item_id, network, source="web"):
    """A signed token naming who shares what where, from which ``source``
    (``LIFETIMES``), with an id of its own; the share button's URL.

    It doubles as the CSRF guard of the share action (a foreign page cannot
    forge it) and lets a share from the digest work without signing in.
    It records one share at most: the id goes on the share it records.
    """
    return _serializer().dumps([person_id, item_id, network, source, secrets.token_urlsafe(12)])


def item_token(person_id, item_id, source):
    """One signed token for all of an e-mail's share buttons of an item:
    who shares what, from which ``source`` (``LIFETIMES``), with an id of
    its own. Each button's URL adds its network (``read_share_token``), so
    a digest signs once per item rather than once per button; each button
    still records one share at most (the id with the network goes on the
    share it records)."""
    return _serializer(_ITEM_SALT).dumps([person_id, item_id, source, secrets.token_urlsafe(12)])


def read_share_token(token, network=None):
    """The ``ShareToken``, or None when tampered, foreign or older than its
    source's lifetime. With ``network``: an ``item_token`` for that
    network's button."""
    try:
        if network is None:
            payload, signed_at = _serializer().loads(token, return_timestamp=True)
            person_id, item_id, network, source, *rest = payload
            if len(rest) > 1:
                return None
            token_id = rest[0] if rest else None
        else:
            payload, signed_at = _serializer(_ITEM_SALT).loads(token, return_timestamp=True)
            person_id, item_id, source, nonce = payload
            if network not in NETWORKS or not isinstance(nonce, str):
                return None
            token_id = f"{nonce}.{network}"  # one share per button
        lifetime = (LIFETIMES if token_id is not None else LEGACY_LIFETIMES)[source]
        if not (token_id is None or isinstance(token_id, str)):
            return None
        result = ShareToken(int(person_id), int(item_id), network, source, token_id)
    except (BadSignature, ValueError, TypeError, KeyError):
        return None
    if not 0 <= time.time() - signed_at.timestamp() < lifetime:
        return None
    if network not in NETWORKS and network not in (COPY, DEVICE):
        return None
    return result


# -- recording a share ---------------------------------------------------------------

COUNTED, REPEAT = "counted", "repeat"


def record_share(token, person, item, visitor, now=None):
    """Record the share a token stands for: (the person's tracked link,
    outcome). ``outcome`` is ``COUNTED`` for the first press of the person
    on this item and network today (UTC, as click days), ``REPEAT`` for a
    later one (kept, counted nowhere), None when the token records nothing
    (already used, or from before token ids). ``visitor``: the sharer's own
    visitor hash of the day, which tells their own clicks apart.

    Safe with several app servers: the database decides, through the unique
    index on the counted share of a day and the unique token id.
    """
    now = now or utcnow()
    with db.atomic():
        link = TrackedLink.for_share(person, item, token.network)
        if not token.records:
            return link, None
        row = {"person": person, "item": item, "link": link, "network": token.network,
               "source": token.source, "visitor": visitor, "day": now.date(), "created_at": now,
               "token": token.token_id}
        for outcome, repeat in ((COUNTED, False), (REPEAT, True)):
            if ShareEvent.insert(is_repeat=repeat, **row).on_conflict_ignore().as_rowcount().execute():
                return link, outcome
    return link, None  # the token was used before
