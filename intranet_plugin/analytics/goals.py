"""Campaign goals, the programme's adoption and share-rate goals, and the
earned-media-value calculator.

A goal is free text such as "100 applicants via colleagues"; the figure it
names is read from the analytics. Earned media value is participants ×
posts per person × clicks per share × cost per click.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from intranet_plugin import analytics
from intranet_plugin.models import Setting

GOAL_WORDS = {
    "click": "clicks", "clicks": "clicks", "klik": "clicks", "klikken": "clicks",
    "visitor": "visitors", "visitors": "visitors", "bezoeker": "visitors", "bezoekers": "visitors",
    "share": "shares", "shares": "shares",
    "applicant": "applications", "applicants": "applications", "application": "applications",
    "applications": "applications", "sollicitant": "applications", "sollicitanten": "applications",
    "sollicitaties": "applications",
    "lead": "leads", "leads": "leads",
}
GOAL = re.compile(r"^\s*(\d{1,3}(?:[.,\s]\d{3})+|\d+)\s+([^\W\d_]+)", re.UNICODE)


def goal_target(text):
    """A campaign goal like "100 applicants via colleagues" or "20,000
    clicks" as (figure, number); None when it names no number of a figure
    the analytics count."""
    match = GOAL.match(text or "")
    if not match:
        return None
    figure = GOAL_WORDS.get(match.group(2).lower())
    number = int(re.sub(r"[.,\s]", "", match.group(1)))
    return (figure, number) if figure and number > 0 else None


def goal_progress(campaign):
    """A campaign's figures against its goal: figure, target, reached,
    percent (capped at 100 for the bar)."""
    target = goal_target(campaign["goal"])
    if target is None:
        return None
    figure, number = target
    reached = campaign[figure]
    return {"figure": figure, "target": number, "reached": reached,
            "percent": min(100, round(100 * reached / number))}


CALCULATOR_FIELDS = ("participants", "posts", "clicks_per_share", "cost_per_click")
CALCULATOR_LIMITS = {"participants": Decimal(10_000_000), "posts": Decimal(10_000),
                     "clicks_per_share": Decimal(1_000_000), "cost_per_click": Decimal(10_000)}
CENT = Decimal("0.01")
PLACES = Decimal("0.0001")


def earned_media_value(participants, posts, clicks_per_share, cost_per_click):
    """participants × posts per person × clicks per share × cost per click,
    in EUR rounded to the cent, with the clicks it assumes."""
    clicks = participants * posts * clicks_per_share
    return {"clicks": clicks.quantize(Decimal(1), ROUND_HALF_UP),
            "value": (clicks * cost_per_click).quantize(CENT, ROUND_HALF_UP)}


def measured_inputs(programme):
    """The calculator's inputs from the programme's own figures, to four
    decimals: their product is the measured earned media value (give or
    take the rounding)."""
    participants, shares, clicks = programme["active_sharers"], programme["shares"], programme["clicks"]
    if clicks:
        cost = Decimal(str(programme["emv"])) / clicks
    else:
        cost = Decimal(str(max(analytics.cost_per_click().values(), default=0)))

    def exact(value):
        return _plain(value.quantize(PLACES, ROUND_HALF_UP))

    return {
        "participants": Decimal(participants),
        "posts": exact(Decimal(shares) / participants) if participants else Decimal(0),
        "clicks_per_share": exact(Decimal(clicks) / shares) if shares else Decimal(0),
        "cost_per_click": exact(cost),
    }


def _plain(value):
    """1.5000 as 1.5, 3E+1 as 30: how a person would type it."""
    return Decimal(format(value.normalize(), "f"))


# -- the programme's own goals -----------------------------------------------------

# The programme lead's goals for the adoption funnel, in whole percent.
RATE_GOALS = {"adoption_rate": "goal_adoption_rate", "share_rate": "goal_share_rate"}


def rate_goals():
    """{"adoption_rate": percent or None, "share_rate": percent or None}."""
    rows = {row.key: row.value for row in Setting.select().where(Setting.key.in_(list(RATE_GOALS.values())))}
    found = {}
    for name, key in RATE_GOALS.items():
        value = rows.get(key, "")
        found[name] = int(value) if value.isascii() and value.isdigit() else None
    return found


def set_rate_goals(by, **percents):
    """Store the goals (whole percent 1 to 100, or None for no goal)."""
    for name, percent in percents.items():
        Setting.set_value(RATE_GOALS[name], "" if percent is None else str(int(percent)), by=by)
