"""Forms of the content pages: the item editor, the campaign editor, the
review of colleagues' suggestions, feeds, and the filters of the content
library and the audit log."""

import datetime
import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _n
from flask_babel import ngettext
from wtforms import Field, SelectMultipleField, StringField
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from intranet_plugin.content import audiences
from intranet_plugin.content import suggestions as suggestion_rules
from intranet_plugin.content.sharing import MAX_CAPTION, NETWORKS, caption_length
from intranet_plugin.forms.base import (
    DayField,
    FilterForm,
    Form,
    WebAddress,
    WholeNumberField,
    choice_of,
    one_line,
    stripped,
    text_block,
)
from intranet_plugin.i18n import zone
from intranet_plugin.labels import NETWORK_LABELS
from intranet_plugin.models import CONTENT_LANGUAGES, ITEM_STATES, KINDS, STATUSES, Audience, Campaign

# Statuses an editor picks in the form; archiving is its own action.
FORM_STATUSES = tuple(s for s in STATUSES if s != "archived")
TITLE_MAX = 255
SUMMARY_MAX = 2000
URL_MAX = 2000
HASHTAGS_MAX = 255
SEARCH_MAX = 100
LAST_PAGE = 100_000
SHARE_PAGES = 10_000
INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")

PAGE_ADDRESS = _l("Enter the full address of the page, starting with https:// or http://.")


def check_hashtags(field):
    """The item's hashtags rule, wherever an item gets hashtags (the
    editor, an approved suggestion): letters, digits and _ only; the field
    keeps them as "#one #two"."""
    tags, refused = clean_hashtags(field.data)
    if refused:
        raise ValidationError(_l("Hashtags may contain only letters, digits and _: %(tags)s")
                              % {"tags": ", ".join(refused)})
    field.data = " ".join(tags)
    if len(field.data) > HASHTAGS_MAX:
        raise ValidationError(_n("Too many hashtags: at most %(num)d character in all.",
                                 "Too many hashtags: at most %(num)d characters in all.", HASHTAGS_MAX))


def clean_hashtags(text):
    """(["#tag", ...], [refused words]) from tags typed with or without #,
    separated by spaces or commas; duplicates dropped."""
    tags, refused, seen = [], [], set()
    for word in re.split(r"[\s,]+", text or ""):
        if not word:
            continue
        match = re.fullmatch(r"#*(\w+)", word)
        if not match:
            refused.append(word)
            continue
        tag = "#" + match.group(1)
        if tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags, refused


def local_input(value):
    """A naive UTC datetime as a datetime-local input value in the zone."""
    if value is None:
        return ""
    return value.replace(tzinfo=datetime.UTC).astimezone(zone()).strftime("%Y-%m-%dT%H:%M")


class LocalTimeField(StringField):
    """A date and time typed in the configured zone (a datetime-local
    input): ``data`` is naive UTC, or None for an empty field."""

    def process_data(self, value):
        self.data = value

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        for fmt in INPUT_FORMATS:
            try:
                naive = datetime.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(_l("Enter a date and time like 2026-05-04 09:30."))
        if not 2000 <= naive.year <= 2100:
            raise ValueError(_l("Enter a date between the years 2000 and 2100."))
        tz = zone()
        utc = naive.replace(tzinfo=tz).astimezone(datetime.UTC)
        if utc.astimezone(tz).replace(tzinfo=None) != naive:
            raise ValueError(_l("%(time)s does not exist in %(zone)s: the clocks move forward then.")
                             % {"time": naive.strftime("%H:%M"), "zone": tz.key})
        self.data = utc.replace(tzinfo=None)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return local_input(self.data)


class NetworkTextsField(Field):
    """The texts per network (``captions-x``, ``captions-linkedin``…, each
    sent once per variant): ``data`` is {network: [texts as typed]}."""

    @staticmethod
    def posted_names(kwargs, attr):
        return [f"captions-{net}" for net in NETWORKS]

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors, self.raw_data = [], []
        data = {} if data is unset_value or data is None else data
        texts = {net: list(data.get(net) or []) or [""] for net in NETWORKS}
        if formdata is not None:
            texts = {net: [t.replace("\x00", "") for t in formdata.getlist(f"captions-{net}")] or [""]
                     for net in NETWORKS}
        self.data = texts

    def variants(self):
        """{network: [non-empty variants]} for saving."""
        variants = {}
        for net, texts in self.data.items():
            kept = [t.strip().replace("\r\n", "\n") for t in texts if t.strip()]
            if kept:
                variants[net] = kept
        return variants

    def _value(self):
        return self.data


class ChosenValues(SelectMultipleField):
    """Several values out of offered choices, checked by the form."""

    def __init__(self, **kwargs):
        super().__init__(validate_choice=False, **kwargs)

    def _value(self):
        return list(self.data or ())


class AudienceFields:
    """Whom an item or a feed's items are meant for: departments (of the
    people Ambassador knows), directory groups (as configured) and content
    languages; none chosen means everyone. ``audience()`` is the choice.
    ``keep`` (the current ``Audience``) stays allowed even once its
    department or group is no longer offered."""

    audience_departments = ChosenValues()
    audience_groups = ChosenValues()
    audience_languages = ChosenValues()

    def offer_audiences(self, keep=None):
        keep = keep or Audience()
        departments = sorted(set(audiences.known_departments()) | set(keep.departments))
        self.audience_departments.choices = [(d, d) for d in departments]
        groups = dict(audiences.known_groups())
        groups.update({g: audiences.group_name(g) for g in keep.groups if g not in groups})
        self.audience_groups.choices = list(groups.items())
        self.audience_languages.choices = [(code, code) for code in CONTENT_LANGUAGES]

    def _check_chosen(self, field, message):
        offered = {value for value, _label in field.choices or ()}
        if any(value not in offered for value in field.data or ()):
            raise ValidationError(message)

    def validate_audience_departments(self, field):
        self._check_chosen(field, _l("Choose departments from the list."))

    def validate_audience_groups(self, field):
        self._check_chosen(field, _l("Choose groups from the list."))

    def validate_audience_languages(self, field):
        self._check_chosen(field, _l("Choose languages from the list."))

    def audience(self):
        return Audience.of({"departments": self.audience_departments.data or (),
                            "groups": self.audience_groups.data or (),
                            "languages": self.audience_languages.data or ()})

    @staticmethod
    def audience_data(audience):
        return {"audience_departments": list(audience.departments), "audience_groups": list(audience.groups),
                "audience_languages": list(audience.languages)}


def _default_language():
    language = current_app.config["DEFAULT_LANGUAGE"]
    return language if language in CONTENT_LANGUAGES else "en"


class ItemForm(AudienceFields, Form):
    """The item editor. Built with the item being edited (None for a new
    one); ``cleaned`` holds what lands on the item once ``check`` passes."""

    item_id = WholeNumberField()
    kind = StringField(default="news", validators=[choice_of(KINDS, _l("Choose what kind of content this is."))])
    title = StringField(filters=[one_line], validators=[
        DataRequired(_l("Enter a title.")),
        Length(max=TITLE_MAX, message=_n(
            "The title is too long: at most %(num)d character.",
            "The title is too long: at most %(num)d characters.", TITLE_MAX))])
    url = StringField(filters=[stripped], validators=[WebAddress(PAGE_ADDRESS, URL_MAX)])
    summary = StringField(filters=[text_block], validators=[
        Length(max=SUMMARY_MAX, message=_n(
            "The summary is too long: at most %(num)d character.",
            "The summary is too long: at most %(num)d characters.", SUMMARY_MAX))])
    image_url = StringField(filters=[stripped], validators=[
        Optional(), WebAddress(_l("The image address must start with https:// or http://."), URL_MAX)])
    caption = StringField(filters=[text_block], validators=[
        Length(max=MAX_CAPTION, message=_n(
            "The text is too long: at most %(num)d character.",
            "The text is too long: at most %(num)d characters.", MAX_CAPTION))])
    captions = NetworkTextsField()
    hashtags = StringField()
    language = StringField(default=_default_language)
    campaign = WholeNumberField(message=_l("That campaign does not exist any more: choose another one."))
    status = StringField(default="draft")
    publish_at = LocalTimeField()
    expires_at = LocalTimeField()
    confirm_duplicate = StringField()
    add_variant = StringField()

    def __init__(self, *args, item=None, audience=None, **kwargs):
        self.item = item
        super().__init__(*args, **kwargs)
        if item is not None and audience is None:
            audience = audiences.audience_of([item.id])[item.id]
        self.offer_audiences(audience)
        self.cleaned = {}
        self.chosen_campaign = None
        self.duplicates = []  # other items with the same page, for the editor to see

    @classmethod
    def for_item(cls, item, now):
        audience = audiences.audience_of([item.id])[item.id]
        return cls(formdata=None, item=item, audience=audience, data={
            **cls.audience_data(audience),
            "kind": item.kind, "title": item.title, "url": item.url, "summary": item.summary,
            "image_url": item.image_url, "caption": item.caption, "hashtags": item.hashtags,
            "language": item.language, "campaign": item.campaign_id, "status": item.status,
            # A draft's date only matters once it is planned: an empty field
            # means "when it is published".
            "publish_at": item.publish_at if item.status == "published" or item.publish_at > now else None,
            "expires_at": item.expires_at, "captions": item.captions or {}})

    @classmethod
    def blank(cls, kind=None, campaign=None):
        return cls(formdata=None, data={"kind": kind if kind in KINDS else "news",
                                        "campaign": campaign.id if campaign else None})

    def wants_duplicate(self):
        return self.confirm_duplicate.data == "1"

    def add_slot(self, network):
        if network in NETWORKS:
            self.captions.data[network].append("")

    def validate_hashtags(self, field):
        check_hashtags(field)

    def validate_language(self, field):
        if field.data not in CONTENT_LANGUAGES and not (self.item and field.data == self.item.language):
            raise ValidationError(_l("Choose the language of the content."))

    def validate_campaign(self, field):
        if field.data is not None:
            self.chosen_campaign = Campaign.get_or_none(Campaign.id == field.data)
            if self.chosen_campaign is None:
                raise ValidationError(field.message)

    def validate_status(self, field):
        archived = self.item is not None and self.item.status == "archived"
        if archived:
            field.data = "archived"  # restoring is its own action
        elif field.data not in FORM_STATUSES:
            raise ValidationError(_l("Choose a status."))

    def validate_caption(self, field):
        variants = self.captions.variants()
        # The default text goes to every network without a text of its own.
        for net, spec in NETWORKS.items():
            used = caption_length(net, field.data)
            if net not in variants and used > spec["limit"]:
                raise ValidationError(ngettext(
                    "On %(network)s this text counts %(num)d character, more than the %(limit)d "
                    "allowed. Shorten it, or write a shorter text for %(network)s.",
                    "On %(network)s this text counts %(num)d characters, more than the %(limit)d "
                    "allowed. Shorten it, or write a shorter text for %(network)s.",
                    used, network=NETWORK_LABELS[net], limit=spec["limit"]))

    def check(self, now):
        """Every field and the rules across them; fills ``cleaned``."""
        valid = self.validate()
        for net, texts in self.captions.variants().items():
            spec = NETWORKS[net]
            for n, text in enumerate(texts, 1):
                used = caption_length(net, text)
                if used > spec["limit"] or len(text) > MAX_CAPTION:
                    self.refuse(f"captions-{net}", ngettext(
                        "%(network)s, variant %(n)d counts %(num)d character, more than the %(limit)d allowed.",
                        "%(network)s, variant %(n)d counts %(num)d characters, more than the %(limit)d allowed.",
                        used, network=NETWORK_LABELS[net], n=n, limit=spec["limit"]))
                    break
        publish_at = self.publish_at.data or now
        if self.expires_at.data and not self.publish_at.errors and not self.expires_at.errors \
                and self.expires_at.data <= publish_at:
            self.expires_at.errors = [_l("The expiry must be after the publication time.")]
            valid = False
        self.cleaned = {name: self[name].data for name in ("kind", "language", "status", "publish_at", "expires_at")}
        # A text field a request did not send is empty, as on a blank form.
        self.cleaned.update({name: self[name].data or "" for name in (
            "title", "url", "summary", "image_url", "caption", "hashtags")})
        self.cleaned.update(campaign=self.chosen_campaign, captions=self.captions.variants(),
                            audience=self.audience())
        return valid and not self.form_messages


class DuplicatesForm(Form):
    """The address typed in the item editor, checked for other items with
    the same page as it is typed (and the item it belongs to)."""

    item_id = WholeNumberField()
    url = StringField(filters=[stripped])


SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Words the campaign URLs use themselves.
RESERVED_SLUGS = {"new"}
NAME_MAX = 255
SLUG_MAX = 60
GOAL_MAX = 255
HASHTAG_MAX = 100
DESCRIPTION_MAX = 5000


class CampaignForm(Form):
    """The campaign editor; ``cleaned`` holds the campaign's new values."""

    name = StringField(filters=[one_line], validators=[
        DataRequired(_l("Enter a name.")),
        Length(max=NAME_MAX, message=_n(
            "The name is too long: at most %(num)d character.",
            "The name is too long: at most %(num)d characters.", NAME_MAX))])
    slug = StringField(filters=[lambda v: v.strip().lower() if isinstance(v, str) else v])
    hashtag = StringField()
    starts_on = DayField()
    ends_on = DayField()
    description = StringField(filters=[text_block], validators=[
        Length(max=DESCRIPTION_MAX, message=_n(
            "The description is too long: at most %(num)d character.",
            "The description is too long: at most %(num)d characters.", DESCRIPTION_MAX))])
    goal = StringField(filters=[one_line], validators=[
        Length(max=GOAL_MAX, message=_n(
            "The goal is too long: at most %(num)d character.",
            "The goal is too long: at most %(num)d characters.", GOAL_MAX))])

    def __init__(self, *args, campaign=None, **kwargs):
        self.campaign = campaign
        super().__init__(*args, **kwargs)
        self.cleaned = {}

    def validate_slug(self, field):
        slug = field.data or ""
        if not slug:
            return
        if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
            raise ValidationError(_n("The short name may hold only lower-case letters, digits and single "
                                     "hyphens, at most %(num)d character.",
                                     "The short name may hold only lower-case letters, digits and single "
                                     "hyphens, at most %(num)d characters.", SLUG_MAX))
        if slug in RESERVED_SLUGS:
            raise ValidationError(_l("“%(slug)s” is reserved: choose another short name.") % {"slug": slug})
        own_id = self.campaign.id if self.campaign else 0
        if Campaign.select().where((Campaign.slug == slug) & (Campaign.id != own_id)).exists():
            raise ValidationError(_l("Another campaign already has the short name “%(slug)s”.") % {"slug": slug})

    def validate_hashtag(self, field):
        tags, refused = clean_hashtags(field.data)
        if refused or len(tags) > 1 or (tags and len(tags[0]) > HASHTAG_MAX):
            raise ValidationError(_n("Enter one hashtag of letters, digits and _ (at most %(num)d character), "
                                     "like #WerkenBij.",
                                     "Enter one hashtag of letters, digits and _ (at most %(num)d characters), "
                                     "like #WerkenBij.", HASHTAG_MAX))
        field.data = tags[0] if tags else ""

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The campaign cannot end before it starts."))

    def check(self):
        valid = self.validate()
        self.cleaned = {"name": self.name.data, "slug": self.slug.data or "", "hashtag": self.hashtag.data or "",
                        "starts_at": _utc(self.starts_on.data, datetime.time.min),
                        "ends_at": _utc(self.ends_on.data, datetime.time(23, 59, 59)),
                        "description": self.description.data or "", "goal": self.goal.data or ""}
        return valid


def _utc(day, at):
    """Naive UTC of a local date at a local time of day."""
    if day is None:
        return None
    local = datetime.datetime.combine(day, at, tzinfo=zone())
    return local.astimezone(datetime.UTC).replace(tzinfo=None)


class ReviewForm(Form):
    """An editor's decision on a colleague's suggestion: approve (with the
    item's fields, possibly edited; the same rules as the item editor) or
    reject with a note to the colleague, ``suggester``. Whether the link is
    already in the library is the suggestions service's question
    (``suggestions.duplicate_of_item``)."""

    title = StringField(filters=[one_line], validators=[
        Length(max=suggestion_rules.MAX_TITLE, message=_n(
            "The title is too long: at most %(num)d character.",
            "The title is too long: at most %(num)d characters.", suggestion_rules.MAX_TITLE))])
    summary = StringField(filters=[text_block], validators=[
        Length(max=suggestion_rules.MAX_SUMMARY, message=_n(
            "The summary is too long: at most %(num)d character.",
            "The summary is too long: at most %(num)d characters.", suggestion_rules.MAX_SUMMARY))])
    caption = StringField(filters=[text_block], validators=[
        Length(max=MAX_CAPTION, message=_n(
            "The text is too long: at most %(num)d character.",
            "The text is too long: at most %(num)d characters.", MAX_CAPTION))])
    kind = StringField(filters=[stripped])
    hashtags = StringField(filters=[stripped])
    review_note = StringField(filters=[text_block], validators=[
        Length(max=suggestion_rules.MAX_NOTE, message=_n(
            "The note is too long: at most %(num)d character.",
            "The note is too long: at most %(num)d characters.", suggestion_rules.MAX_NOTE))])
    decision = StringField(validators=[choice_of(("approve", "reject"), _l("Choose to approve or to reject."))])

    def __init__(self, suggester="", **kwargs):
        super().__init__(**kwargs)
        self.suggester = suggester

    def _approving(self):
        return self.decision.data == "approve"

    def validate_title(self, field):
        if self._approving() and not field.data:
            raise ValidationError(_l("Give the item a title."))

    def validate_kind(self, field):
        if self._approving() and field.data not in KINDS:
            raise ValidationError(_l("Choose the kind of content."))

    def validate_hashtags(self, field):
        if self._approving():
            check_hashtags(field)

    def validate_review_note(self, field):
        if self.decision.data == "reject" and not field.data:
            raise ValidationError(_l("Write a short note for %(name)s: why is this suggestion not taken up?",
                                     name=self.suggester))

    def fields_as_typed(self):
        return {name: self[name].data or "" for name in ("title", "summary", "caption", "kind", "hashtags",
                                                         "review_note")}


class FeedForm(AudienceFields, Form):
    """A feed to add: the feeds service checks it (``add_feed``); the form
    refuses first what is no address at all."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.offer_audiences()

    url = StringField(filters=[stripped], validators=[
        WebAddress(_l("A feed address must start with http:// or https://."), URL_MAX)])
    kind = StringField(default="news")
    campaign = StringField(filters=[stripped], validators=[Length(max=SLUG_MAX * 2)])
    needs_review = StringField()

    def as_dict(self):
        return {"url": self.url.data or "", "kind": self.kind.data or "", "campaign": self.campaign.data or "",
                "needs_review": bool(self.needs_review.data), "audience": self.audience()}


class LibraryFilterForm(FilterForm):
    """The content library's filters."""

    state = StringField(default="", validators=[Optional(), choice_of(ITEM_STATES, "")])
    kind = StringField(default="", validators=[Optional(), choice_of(KINDS, "")])
    q = StringField(default="", filters=[lambda v: v.strip()[:SEARCH_MAX] if isinstance(v, str) else v])
    page = WholeNumberField(default=1)

    def page_number(self):
        return max(1, min(self.value("page") or 1, LAST_PAGE))


class AuditFilterForm(LibraryFilterForm):
    """The audit log's filters: an item, an action, words in the title."""

    state = kind = None
    item = WholeNumberField()
    action = StringField(default="", validators=[Length(max=SEARCH_MAX)])


ALL_LANGUAGES = "all"


class ContentLanguagesField(Field):
    """``?lang=``: the content languages to list, repeated or separated by
    commas (``lang=de&lang=en``, ``lang=de,en``), ``all``, or nothing: the
    person's own (``content.audiences.content_languages``). ``data`` is a
    list of codes (in CONTENT_LANGUAGES order), ALL_LANGUAGES, or None; any
    other value is an error (the views answer 400)."""

    def process_formdata(self, valuelist):
        codes = [code.strip() for value in valuelist for code in value.split(",") if code.strip()]
        self.data = None
        if codes == [ALL_LANGUAGES]:
            self.data = ALL_LANGUAGES
        elif any(code not in CONTENT_LANGUAGES for code in codes):
            raise ValueError(_l("“lang” must be “all” or content languages out of: %(codes)s.",
                                codes=", ".join(CONTENT_LANGUAGES)))
        elif codes:
            self.data = [code for code in CONTENT_LANGUAGES if code in codes]

    def _value(self):
        return ",".join(self.data) if isinstance(self.data, list) else (self.data or "")


class LanguageFilterForm(FilterForm):
    """The content-language filter alone (the widget, the API)."""

    lang = ContentLanguagesField()

    def languages(self, person):
        """The languages to list for ``person`` (None: all)."""
        if self.lang.data == ALL_LANGUAGES:
            return None
        languages = self.lang.data or audiences.content_languages(person)
        # Every content language is no filter: an item a feed brought in
        # another language (sv, fi ...) is then listed too.
        return None if set(languages) >= set(CONTENT_LANGUAGES) else languages


class SharePageFilterForm(LanguageFilterForm, LibraryFilterForm):
    """The share page's tabs, live search, campaign, content languages and page."""

    state = None
    campaign = StringField(default="", filters=[lambda v: v.strip()[:SEARCH_MAX] if isinstance(v, str) else v])

    def page_number(self):
        return max(1, min(self.value("page") or 1, SHARE_PAGES))


class NewItemArgsForm(FilterForm):
    """``/editor/items/new?kind=…&campaign=…``: a new item of a kind, in a
    campaign (by its short name)."""

    kind = StringField(default="", validators=[Optional(), choice_of(KINDS, "")])
    campaign = StringField(default="", validators=[Length(max=SLUG_MAX)])


class EditArgsForm(FilterForm):
    """``/editor/items/<id>?prefill=1``: open the item with the blank fields
    filled in from its page (an approved suggestion's new draft)."""

    prefill = StringField(default="", validators=[Optional(), choice_of(("1",), "")])
