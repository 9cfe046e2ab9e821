"""The one freshness rule the API, the dashboard and the command all say."""

from datetime import date

from f1_serving.dashboard import views
from f1_serving.freshness import freshness
from f1_serving.served import queries
from tests.unit.serving.test_dashboard_views import CALENDAR


def test_a_race_dated_before_today_without_results_has_passed_and_the_data_is_stale():
    found = freshness(CALENDAR, date(2026, 9, 10))
    assert found.stale
    assert found.has_passed(2026, 13) and found.has_passed(2026, 14)
    assert not found.has_passed(2026, 15)  # still to come
    assert not found.has_passed(2026, 12)  # has its results


def test_nothing_has_passed_while_the_next_race_is_still_to_come():
    found = freshness(CALENDAR, date(2026, 8, 1))
    assert not found.stale and found.reason is None and not found.has_passed(2026, 13)
    assert found.data_through == "Hungarian Grand Prix, 26 July 2026"


def test_the_api_and_the_dashboard_give_the_same_reason():
    api = queries.freshness(CALENDAR, date(2026, 9, 10))
    page = views.freshness(CALENDAR, date(2026, 9, 10))
    assert api.stale and page.stale
    assert api.stale_reason is not None and page.note is not None
    assert page.note.lower().startswith(api.stale_reason.lower())
