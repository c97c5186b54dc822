"""The tick handler as EventBridge and the local tick loop invoke it."""
import threading

from chalice.test import Client

from chalicelib.local.ticker import run_tick_loop, scheduled_event
from chalicelib.store import ticks


def test_local_tick_loop_invokes_the_real_tick_handler(aws):
    assert ticks.last_beat("live") == (None, 0)
    ran = run_tick_loop(0, threading.Event(), iterations=3)
    last, count = ticks.last_beat("live")
    assert ran == 3 and count == 3 and last is not None


def test_tick_loop_stops_when_told(aws):
    stop = threading.Event()
    stop.set()
    assert run_tick_loop(0, stop) == 0
    assert ticks.last_beat("live") == (None, 0)


def test_tick_as_lambda_invokes_it_with_a_scheduled_event(aws):
    from app import app
    with Client(app, stage_name="dev") as client:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:us-east-1:123456789012:rule/tick"])
        result = client.lambda_.invoke("tick", event)
    assert result.payload["clockId"] == "live" and result.payload["ran"] == {
        "billingJobs": 0, "invoiceScheduleItems": 0, "recurringInvoices": 0, "invoiceJobs": 0, "clockAdvances": 0}
    assert ticks.last_beat("live")[1] == 1


def test_scheduled_event_has_eventbridge_shape():
    event = scheduled_event()
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"].endswith("Z")
