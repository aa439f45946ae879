"""Demo content for ``make run``: a fictitious Dutch energy company,
Noordwind Energie, with people, news, vacancies, blog posts, two campaigns
and some share and click history.

The programme is a pilot (``make run`` sets AMBASSADOR_LDAP_MEMBER_GROUP to
``PILOT_GROUP``): with the demo login there is no directory, so whether each
person is in the pilot group is stored on them, as a sync would. Two
colleagues outside it see the pilot page; Anouk, the programme lead, has
invited Pieter (the invitation is in the outbox).
"""

import datetime
import logging
import random

from flask import current_app, url_for

from intranet_plugin.analytics import goals, milestones
from intranet_plugin.content.audiences import set_audience
from intranet_plugin.content.guidelines import AVOID_KEY, DISCLOSURE_KEY
from intranet_plugin.content.slugs import slugify
from intranet_plugin.mail.smtp import MailError
from intranet_plugin.models import (
    Audience,
    Campaign,
    Click,
    ClickDaily,
    Invitation,
    Item,
    Milestone,
    Person,
    Setting,
    ShareEvent,
    TrackedLink,
    db,
    new_code,
    utcnow,
)
from intranet_plugin.people import invitations
from intranet_plugin.tracking import totals
from intranet_plugin.tracking.clicks import store

log = logging.getLogger(__name__)

SITE = "https://www.noordwind.example"

PEOPLE = [
    # username, name, department, role, locale, on leaderboard
    ("anouk", "Anouk Bakker", "Communicatie", "admin", "nl", True),
    ("joris", "Joris van Dijk", "Recruitment", "editor", "nl", True),
    ("emma", "Emma de Vries", "Engineering", "employee", "en", True),
    ("sanne", "Sanne Jansen", "Engineering", "employee", "nl", False),
    ("mohammed", "Mohammed El Amrani", "Operations", "employee", "nl", True),
    ("lisa", "Lisa Visser", "Sales", "employee", "en", True),
    ("thomas", "Thomas Smit", "Finance", "employee", None, False),
    ("fatma", "Fatma Yılmaz", "Operations", "employee", "nl", True),
    ("daan", "Daan Mulder", "Engineering", "employee", "en", False),
    ("sophie", "Sophie de Boer", "HR", "editor", "en", True),
]

# The demo's pilot group (make run); its members are the people above and
# the newcomers marked in it.
PILOT_GROUP = "cn=ambassador-pilot,ou=groups,dc=noordwind,dc=example"

# Colleagues who have not joined: username, name, department, locale, in the pilot group
NEWCOMERS = [
    ("pieter", "Pieter de Groot", "Engineering", "nl", True),  # invited by Anouk
    ("noor", "Noor Hendriks", "Sales", "en", True),
    ("kees", "Kees Bos", "Finance", "nl", False),
    ("iris", "Iris Meijer", "HR", "en", False),
]
INVITED = ("pieter",)
LEAD = "anouk"

CAMPAIGNS = [
    ("werken-bij-noordwind", "Werken bij Noordwind", "#WerkenBijNoordwind",
     "Recruitment drive for engineers and technicians in the north.", "100 applicants via colleagues"),
    ("offshore-2027", "Offshore 2027", "#Offshore2027",
     "Our new wind farm north of the Wadden Islands, from first pile to first power.", "20,000 clicks"),
]

# kind, language, campaign (index or None), pinned, days ago, expires in days,
# image, title, summary, caption, hashtags
ITEMS = [
    ("news", "nl", 1, True, 1, None, "windfarm",
     "Eerste turbine van windpark Noordzee-Oost staat",
     "Na drie jaar voorbereiding draait de eerste van 48 turbines. "
     "Genoeg stroom voor 60.000 huishoudens zodra het park volledig in bedrijf is.",
     "Trots! De eerste turbine van ons windpark Noordzee-Oost draait. Dit is waar we het voor doen.",
     "#windenergie #Offshore2027"),
    ("vacancy", "nl", 0, True, 2, 30, "engineer",
     "Vacature: Elektrotechnisch engineer hoogspanning (Groningen)",
     "Ontwerp mee aan de netaansluiting van onze windparken. 32-40 uur, hybride, goede opleidingsmogelijkheden.",
     "Wij zoeken een collega! Ken jij een elektrotechnisch engineer die mee wil bouwen aan de energietransitie?",
     "#vacature #WerkenBijNoordwind #engineering"),
    ("news", "en", None, False, 3, None, "report",
     "Noordwind publishes its 2026 sustainability report",
     "CO₂ emissions per MWh down 18%, a third of our fleet electric, and every supplier audited on human rights.",
     "Our 2026 sustainability report is out: real numbers, including where we still fall short.",
     "#sustainability #ESG"),
    ("blog", "nl", None, False, 4, None, "team",
     "Een dag op zee met het onderhoudsteam",
     "Om vijf uur 's ochtends vertrekt de boot. Monteur Sanne neemt je mee op een werkdag tussen de turbines.",
     "Ooit afgevraagd hoe onderhoud op zee werkt? Sanne neemt je mee.",
     "#achterdeschermen #offshore"),
    ("vacancy", "en", 0, False, 5, 21, "data",
     "Vacancy: Data engineer, forecasting team (Amsterdam)",
     "Build the models that predict tomorrow's wind. Python, time series, and a team that ships.",
     "We are hiring a data engineer for our forecasting team. Know someone who loves weather and Python?",
     "#hiring #dataengineering #WerkenBijNoordwind"),
    ("news", "nl", None, False, 6, None, "community",
     "Noordwind steunt 40 lokale energiecoöperaties",
     "Met een fonds van 2 miljoen euro helpen we buurtinitiatieven op weg met zonnedaken en buurtbatterijen.",
     "Energie van en voor de buurt: we steunen 40 lokale coöperaties.",
     "#energietransitie #lokaal"),
    ("blog", "en", 1, False, 8, None, "windfarm",
     "How we protect seabirds during construction",
     "Radar-controlled stops, quieter piling and a bird observatory: what we learned from two years of monitoring.",
     "Building offshore wind and protecting seabirds go together. Here is how we do it.",
     "#biodiversity #Offshore2027"),
    ("vacancy", "nl", 0, False, 9, 14, "technician",
     "Vacature: Servicemonteur windturbines (Eemshaven)",
     "Werk op hoogte, in een hecht team, met een volledige opleiding tot GWO-gecertificeerd monteur.",
     "Hoogtevrees? Nee? Dan zoeken wij jou als servicemonteur in de Eemshaven!",
     "#vacature #techniek #WerkenBijNoordwind"),
    ("news", "en", None, False, 11, None, "report",
     "Noordwind signs 15-year power deal with Dutch railways",
     "From 2028, one in five trains in the Netherlands will run on wind power from our parks.",
     "One in five Dutch trains will soon run on our wind power.",
     "#renewables #rail"),
    ("blog", "nl", None, False, 13, None, "team",
     "Vijf vragen aan onze nieuwe CTO",
     "Over slimme netten, opslag en waarom ze na twintig jaar in de olie-industrie overstapte.",
     "Maak kennis met onze nieuwe CTO, die na twintig jaar overstapte naar duurzame energie.",
     "#leiderschap"),
    ("vacancy", "en", 0, False, 15, 45, "engineer",
     "Vacancy: Graduate programme 2027, engineering",
     "Two years, four rotations, one mentor: start your career in renewable energy.",
     "Our 2027 graduate programme is open. Perfect for engineers who want to work on the energy transition.",
     "#graduates #WerkenBijNoordwind"),
    ("news", "nl", None, False, 18, None, "community",
     "Open dag in de Eemshaven trekt 3.000 bezoekers",
     "Bezoekers klommen in een turbinevoet, spraken met monteurs en bekeken het controlecentrum.",
     "Wat een dag! 3.000 bezoekers op onze open dag in de Eemshaven.",
     "#opendag"),
    ("blog", "en", None, False, 21, None, "data",
     "Forecasting wind with machine learning: lessons from three winters",
     "Our forecast error went down by a quarter. The surprising part: the biggest gain was not the model.",
     "What three winters of wind forecasting taught our data team.",
     "#machinelearning #energy"),
    ("news", "en", None, False, 25, None, "windfarm",
     "Permit granted for offshore wind farm Noordzee-Oost",
     "The final permit is in: construction starts in spring, with first power expected next autumn.",
     "Big step for clean energy: the permit for Noordzee-Oost is granted.",
     "#Offshore2027"),
]

WORDS_TO_AVOID = ("guaranteed", "best employer", "confidential")

IMAGES = ["windfarm", "engineer", "report", "team", "data", "community", "technician"]


def build(reset=False, seed=7):
    """Create the demo (idempotent unless ``reset``); returns counts."""
    rng = random.Random(seed)
    now = utcnow()
    with db.atomic():
        if reset:
            for model in (Milestone, *(model for model, _, _ in totals.TABLES), Click, ClickDaily, ShareEvent,
                          TrackedLink, Item, Campaign, Invitation, Person):
                model.delete().execute()
        people = []
        for username, name, dept, role, locale, board in PEOPLE:
            joined = now - datetime.timedelta(days=rng.randint(20, 200))
            person = Person.get_or_none(username=username) or Person.create(
                username=username, display_name=name, email=f"{username}@noordwind.example",
                department=dept, role=role, locale=locale, show_on_leaderboard=board,
                joined_at=joined, created_at=joined - datetime.timedelta(days=60))
            people.append(person)
        for username, name, dept, locale, in_pilot in NEWCOMERS:
            if Person.get_or_none(username=username) is None:
                Person.create(username=username, display_name=name, email=f"{username}@noordwind.example",
                              department=dept, locale=locale, eligible=in_pilot, eligible_checked_at=now,
                              created_at=now - datetime.timedelta(days=rng.randint(30, 90)))
        # Two people's own choices of networks: Emma posts on Mastodon
        # (her server set) and Bluesky; Lisa uses her phone's apps.
        for person, networks, server in ((people[2], ["linkedin", "bluesky", "mastodon", "threads"],
                                          "mastodon.social"),
                                         (people[5], ["linkedin", "telegram", "whatsapp", "email"], "")):
            if not person.networks:
                Person.update(networks=networks, mastodon_server=server).where(Person.id == person.id).execute()
        campaigns = []
        for slug, name, tag, description, goal in CAMPAIGNS:
            campaign = Campaign.get_or_none(slug=slug) or Campaign.create(
                slug=slug, name=name, hashtag=tag, description=description, goal=goal,
                starts_at=now - datetime.timedelta(days=30), ends_at=now + datetime.timedelta(days=60))
            campaigns.append(campaign)
        items = []
        for kind, lang, camp, pinned, ago, expires, image, title, summary, caption, tags in ITEMS:
            slug = slugify(title)
            item = Item.get_or_none(slug=slug)
            if item is None:
                published = now - datetime.timedelta(days=ago, hours=rng.randint(0, 8))
                path = {"news": "nieuws", "vacancy": "vacatures", "blog": "blog"}[kind]
                item = Item.create(
                    kind=kind, slug=slug, title=title, summary=summary, language=lang,
                    url=f"{SITE}/{path}/{slug}?ref=intranet#top" if kind == "vacancy" else f"{SITE}/{path}/{slug}",
                    image_url=_image_url(image), caption=caption,
                    captions={"x": [caption[:200]]}, hashtags=tags,
                    campaign=campaigns[camp] if camp is not None else None, pinned=pinned,
                    publish_at=published, created_at=published, updated_at=published,
                    expires_at=now + datetime.timedelta(days=expires) if expires else None)
            items.append(item)
        if not ShareEvent.select().exists():
            _history(rng, people, items, now)
        _engineering_only(now)
        Person.update(lead_of="Engineering").where(Person.username == TEAM_LEAD).execute()
        # The programme lead's disclosure and words to avoid (set once: an
        # admin's own choice is kept).
        if Setting.get_or_none(Setting.key == DISCLOSURE_KEY) is None:
            Setting.set_value(DISCLOSURE_KEY, "#werkenbij")
            Setting.set_value(AVOID_KEY, "\n".join(WORDS_TO_AVOID))
        # The milestones the history reached (first share, first click, points...).
        milestones.sync([p.id for p in people])
    _goals()
    _invite()
    return {"people": Person.select().count(), "items": Item.select().count(),
            "campaigns": Campaign.select().count(), "shares": ShareEvent.select().count(),
            "clicks": Click.select().count()}


def _goals():
    """The programme lead's goals for the adoption funnel, once."""
    if all(value is None for value in goals.rate_goals().values()):
        goals.set_rate_goals(Person.get(username=LEAD), adoption_rate=90, share_rate=60)


def _invite():
    """Anouk invites Pieter, once: through the invitations' own path, so
    the message lands in the outbox (when there is a mail server)."""
    if Invitation.select().exists():
        return
    lead = Person.get(username=LEAD)
    invitees = list(Person.select().where(Person.username.in_(INVITED)))
    try:
        invitations.send(current_app._get_current_object(), invitees, lead, invitations.new_round())
    except MailError as exc:
        log.info("demo: no invitation sent (%s)", exc)
# Sanne leads the Engineering team: her team page is /team.
TEAM_LEAD = "sanne"

# An item meant for one department only: Emma, Sanne and Daan (Engineering)
# see it on the share page and in their digest; nobody else does.
ENGINEERING_ONLY = ("Engineering: new safety drill on the substation, Thursday",
                    "All engineers: the yearly safety drill at substation Eemshaven moves to Thursday 09:00.",
                    "Safety first: our yearly substation drill is on Thursday. #SafetyFirst")


def _engineering_only(now):
    title, summary, caption = ENGINEERING_ONLY
    slug = slugify(title)
    if Item.get_or_none(slug=slug) is None:
        published = now - datetime.timedelta(hours=3)
        item = Item.create(kind="news", slug=slug, title=title, summary=summary, language="en",
                           url=f"{SITE}/nieuws/{slug}", image_url=_image_url("technician"), caption=caption,
                           hashtags="#SafetyFirst", publish_at=published, created_at=published,
                           updated_at=published)
        set_audience(item, Audience(departments=("Engineering",)))
        _team_shares(item, now)


def _team_shares(item, now):
    """Emma and Daan share the item meant for their team, within this month
    whatever the day (on the 1st just after midnight too): the team lead's
    page and the funnel's share rate show this month's figures."""
    when = max(now - datetime.timedelta(hours=2), datetime.datetime.combine(now.date().replace(day=1), datetime.time()))
    rows = []
    for username, visitors in (("emma", 5), ("daan", 3)):
        person = Person.get(username=username)
        link = TrackedLink.create(code=new_code(), person=person, item=item, network="linkedin", created_at=when)
        ShareEvent.create(person=person, item=item, link=link, network="linkedin", source="web",
                          day=when.date(), created_at=when)
        for n in range(visitors):
            at = when + (now - when) * (n + 1) / (visitors + 1)
            rows.append({"event_id": new_code(12), "link": link.id, "at": at, "day": at.date(), "kind": "human",
                         "visitor": f"demo-team-visitor-{username}-{n}", "referrer_host": "www.linkedin.com",
                         "is_self": False})
    store(rows)


def _image_url(name):
    base = current_app.config["BASE_URL"]
    with current_app.test_request_context(base_url=base):
        return url_for("static", filename=f"demo/{name}.svg", _external=True)


def _history(rng, people, items, now):
    """Shares over the last weeks, and the visits they brought (humans,
    link-preview bots, repeat visitors)."""
    networks = ["linkedin", "linkedin", "linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon",
                "telegram", "whatsapp", "email", "device", "qr"]
    rows = []
    for person in people:
        for item in rng.sample(items, rng.randint(1, 6)):
            network = rng.choice(networks)
            when = max(item.publish_at, now - datetime.timedelta(days=rng.randint(0, 20)))
            link = TrackedLink.get_or_none(person=person, item=item, network=network) or \
                TrackedLink.create(code=new_code(), person=person, item=item, network=network, created_at=when)
            if network != "qr":  # a QR code is printed, not pressed: its scans are its clicks
                ShareEvent.create(person=person, item=item, link=link, network=network, source="web",
                                  day=when.date(), created_at=when)
            rows.append({"event_id": new_code(12), "link": link.id, "at": when, "day": when.date(),
                         "kind": "crawler", "visitor": new_code(12)[:32], "referrer_host": "",
                         "is_self": False})
            for _ in range(rng.randint(0, 25)):
                at = when + datetime.timedelta(hours=rng.randint(1, 24 * 5))
                if at > now:
                    continue
                rows.append({"event_id": new_code(12), "link": link.id, "at": at, "day": at.date(),
                             "kind": "human", "visitor": f"demo-visitor-{rng.randint(1, 400)}",
                             "referrer_host": {"linkedin": "www.linkedin.com", "x": "t.co",
                                               "facebook": "l.facebook.com"}.get(network, ""),
                             "is_self": False})
    for start in range(0, len(rows), 500):
        store(rows[start:start + 500])
