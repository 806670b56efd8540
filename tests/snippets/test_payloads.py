"""Tests for snippets/payloads.py (page: docs/payloads.md)."""

import io
import json
from datetime import datetime

import pytest

from snippets import catalog, payloads, schemas, settings
from snippets.client import ApiError, api_session
from snippets.payloads import fetch_resource, sample_delivery
from tests.support.fake_api import sample_shipment
from tests.support.paths import DOCS
from tests.support.site import BuiltSite

EVENTS = [e.value for e in catalog.EVENTS]


# ------------------------------------------------------------------ samples
@pytest.mark.parametrize("event", EVENTS)
def test_every_sample_matches_its_own_schema_and_no_other(event):
    delivery = sample_delivery(event)

    assert schemas.problems(f"delivery_{event}", delivery) == []
    assert (
        schemas.problems("delivery", delivery) == []
    )  # exactly one event matches
    others = [e for e in EVENTS if e != event]
    assert all(schemas.problems(f"delivery_{o}", delivery) for o in others)


@pytest.mark.parametrize("event", EVENTS)
def test_every_sample_is_accepted_by_the_receivers_schema(event):
    assert schemas.problems("receiver_delivery", sample_delivery(event)) == []


def test_the_receivers_require_nothing_the_delivery_schemas_do_not():
    core = schemas.SCHEMAS["receiver_delivery"]
    for event in EVENTS:
        strict = schemas.SCHEMAS[f"delivery_{event}"]
        assert set(core["required"]) <= set(strict["required"])
    track = schemas.SCHEMAS["delivery_track"]["properties"]["data"]
    core_data = core["then"]["properties"]["data"]
    assert set(core_data["required"]) <= set(track["required"])
    assert core["if"]["properties"]["resource_type"]["const"] == "API_TRACK"


def test_the_receivers_schema_refuses_a_track_delivery_without_its_status():
    delivery = sample_delivery("track")
    del delivery["data"]["status_code"]

    assert schemas.problems("receiver_delivery", delivery)


@pytest.mark.parametrize("event", EVENTS)
def test_every_sample_points_at_the_api(event):
    delivery = sample_delivery(event)

    assert delivery["resource_url"].startswith(settings.API_BASE + "/")
    assert delivery["resource_type"] == catalog.event(event).resource_type


def test_only_track_carries_data():
    assert [e for e in EVENTS if "data" in sample_delivery(e)] == ["track"]
    for event in EVENTS:
        if event != "track":
            assert set(sample_delivery(event)) == {
                "resource_url",
                "resource_type",
            }


def test_the_track_sample_lists_its_events_most_recent_first():
    data = sample_delivery("track")["data"]
    times = [datetime.fromisoformat(e["occurred_at"]) for e in data["events"]]

    assert times == sorted(times, reverse=True)
    assert data["status_code"] == data["events"][0]["status_code"]
    assert data["actual_delivery_date"] == data["events"][0]["occurred_at"]


def test_each_call_returns_a_fresh_copy():
    first = sample_delivery("track")
    first["data"]["events"].clear()

    assert sample_delivery("track")["data"]["events"]


def test_a_malformed_sample_would_be_caught():
    broken = sample_delivery("track")
    del broken["data"]["events"][0]["occurred_at"]
    broken["data"]["status_code"] = "XX"

    assert len(schemas.problems("delivery_track", broken)) == 2


# ----------------------------------------------------------- fetch_resource
THIN = [e for e in EVENTS if e != "track"]


@pytest.mark.parametrize("event", THIN)
def test_a_thin_delivery_is_fetched_with_the_api_key(fake_api, event):
    path = payloads.RESOURCE_PATHS[event].split("?")[0]
    fake_api.resources[path] = {"id": f"se-{event}", "status": "completed"}

    resource = fetch_resource(api_session(), sample_delivery(event))

    assert resource == {"id": f"se-{event}", "status": "completed"}
    [call] = fake_api.calls
    assert (call.method, call.path) == ("GET", path)
    assert call.headers["API-Key"] == fake_api.api_key


def test_a_track_resource_url_gives_the_latest_tracking_record(fake_api):
    fake_api.add_shipment(sample_shipment())

    record = fetch_resource(api_session(), sample_delivery("track"))

    assert schemas.problems("tracking_info", record) == []
    assert record["status_code"] == "DE"
    assert record["tracking_number"] == payloads.TRACK_DATA["tracking_number"]
    assert fake_api.calls[0].path == payloads.RESOURCE_PATHS["track"]


def test_a_missing_resource_raises_the_apis_error(fake_api):
    with pytest.raises(ApiError) as raised:
        fetch_resource(
            api_session(), sample_delivery("track")
        )  # no such shipment

    assert (raised.value.status, raised.value.error_code) == (404, "not_found")
    assert "No label has the id" in raised.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v1/batches/se-1",
        settings.API_BASE + ".evil.example.com/v1/batches/se-1",
        settings.API_BASE.replace("https", "http") + "/v1/batches/se-1",
        settings.API_BASE,
        "/v1/batches/se-1",
    ],
)
def test_the_key_is_never_sent_to_another_host(fake_api, url):
    delivery = {"resource_url": url, "resource_type": "API_BATCH"}

    with pytest.raises(ValueError, match="resource_url is not on"):
        fetch_resource(api_session(), delivery)

    assert fake_api.calls == []


def test_running_the_module_prints_the_resource(
    fake_api, monkeypatch, capsys, run_main
):
    fake_api.resources["/v1/reports/se-90210"] = {"report_id": "se-90210"}
    delivery = sample_delivery("report_complete")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(delivery)))

    run_main("snippets.payloads")

    out = capsys.readouterr().out
    assert json.loads(out) == {"report_id": "se-90210"}
    assert fake_api.api_key not in out


# -------------------------------------------------------------------- page
def test_the_built_page_shows_every_sample_with_its_schema(built_site):
    site = BuiltSite(built_site)
    shown = [
        (block.attrs["data-schema"], json.loads(block.text))
        for block in site.blocks("payloads.md")
        if block.lang == "json"
    ]

    assert shown == [(f"delivery_{e}", sample_delivery(e)) for e in EVENTS]
    headings = site.soup("payloads.md").select('article h3[id^="payload-"]')
    assert [h.get_text(strip=True).rstrip("¶") for h in headings] == [
        e.name for e in catalog.EVENTS
    ]


def test_no_sample_is_written_into_the_page_s_source():
    source = (DOCS / "payloads.md").read_text()

    assert "<!-- payloads -->" in source
    assert "resource_type" not in source.split("<!-- payloads -->")[1]


# ----------------------------------------------- the download, as a reader
def test_the_download_fetches_what_a_delivery_points_at(
    reader, api_env, http_api
):
    reader.download("payloads.py")
    http_api.add_shipment(sample_shipment())
    http_api.resources["/v1/rates/se-11464812"] = {"rate_id": "se-11464812"}
    home = api_env["YOURSTORE_API_BASE"]

    def delivery(event):
        sample = json.dumps(sample_delivery(event))
        return sample.replace(settings.API_BASE, home)

    track = reader.run("payloads.py", env=api_env, stdin=delivery("track"))
    rate = reader.run("payloads.py", env=api_env, stdin=delivery("rate"))
    elsewhere = reader.run(
        "payloads.py", env=api_env, stdin=json.dumps(sample_delivery("rate"))
    )

    assert json.loads(track.stdout)["status_code"] == "DE", track.stderr
    assert json.loads(rate.stdout) == {"rate_id": "se-11464812"}
    assert elsewhere.returncode == 1
    assert elsewhere.stderr.startswith("Nothing fetched: ValueError(")
    assert elsewhere.stderr.count("\n") == 1


def test_the_samples_name_each_event_as_the_catalog_does():
    """The samples spell resource types out (a downloaded sender carries no
    catalog); they must be the catalog's."""
    assert payloads.RESOURCE_TYPES == {
        e.value: e.resource_type for e in catalog.EVENTS
    }
    assert list(payloads.RESOURCE_PATHS) == [e.value for e in catalog.EVENTS]
