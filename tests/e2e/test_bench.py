"""`make bench` at a tiny size: `python -m bench` starts its own moto server, prints one JSON object, and its
figures hold together (no timing is asserted: the bench reports time, it does not test it)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.local.dynamodb_limits import REFUSED

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TINY = ["--subscriptions", "60", "--customers", "12", "--schedules", "300", "--due", "5",
        "--fanout-customers", "5", "--unit-customers", "4", "--workers", "2", "--empty-hours", "24",
        "--year-customers", "6"]


@pytest.fixture(scope="module")
def bench_run() -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLRUN_", "DYNAMODB_", "SQS_", "S3_"))}
    done = subprocess.run([sys.executable, "-m", "bench", *TINY], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def report(bench_run) -> dict:
    return json.loads(bench_run.stdout)  # the whole of stdout is one JSON object (progress went to stderr)


def test_no_request_of_the_bench_is_one_real_dynamodb_refuses(bench_run):
    """The bench's moto server logs each request over real DynamoDB's limits (chalicelib/local/dynamodb_limits.py)."""
    assert [line for line in bench_run.stderr.splitlines() if REFUSED in line] == []


def test_both_jobs_write_one_invoice_per_customer_with_equal_totals(report):
    single, fanned = report["jobs"]["single_process"], report["jobs"]["fan_out"]
    assert report["parameters"]["subscriptions"] == 60 and report["parameters"]["customers_with_subscriptions"] == 12
    for job in (single, fanned):
        assert job["status"] == "Completed" and job["invoices"] == 12
        assert job["seconds"] > 0 and job["invoices_per_second"] > 0
    assert single["invoice_total"] == fanned["invoice_total"]
    assert report["checks"]["passed"] is True and all(report["checks"].values())


def test_the_fan_out_job_really_fans_out_through_sqs(report):
    single, fanned = report["jobs"]["single_process"], report["jobs"]["fan_out"]
    assert single["units"] is None and single["sqs"]["requests"] == 0
    assert fanned["units"] == 3  # 12 customers in units of 4
    assert fanned["sqs"]["by_operation"]["SendMessageBatch"] >= 1
    assert fanned["sqs"]["by_operation"]["DeleteMessage"] == 3  # one per unit the workers finished


def test_requests_and_capacity_are_counted_per_invoice(report):
    for job in report["jobs"].values():
        dynamodb = job["dynamodb"]
        assert dynamodb["requests"] == sum(dynamodb["by_operation"].values()) > 0
        assert dynamodb["requests_per_invoice"] > 0 and dynamodb["unpriced_requests"] == {}
        assert dynamodb["read_units_per_invoice"] > 0 and dynamodb["write_units_per_invoice"] > 0
        assert dynamodb["index_write_units_per_invoice"] > 0  # the invoices' indexes
        assert dynamodb["moto_reported_units_per_invoice"] > 0
        # each of a customer's 5 subscriptions has one January period, claimed once in the customer's transaction:
        # 5 entries and the customer's head, each < 1 KB, each write 2 units in a transaction
        assert dynamodb["units_per_invoice_by_table"]["billing-ledger"]["write"] == 12.0
        # transactions double their items' units: written once each outside one, the same items cost less, and at
        # most half of the table units are saved (the invoices' index entries are no transaction's)
        write, index = dynamodb["write_units_per_invoice"], dynamodb["index_write_units_per_invoice"]
        minimum = dynamodb["minimum_write_units_per_invoice"]
        assert index + write / 2 - 0.02 <= minimum < write + index
        assert dynamodb["write_units_over_minimum"] == pytest.approx((write + index) / minimum, abs=0.02)
        assert job["memory"]["peak_rss_mib"] is None or job["memory"]["peak_rss_mib"] > 0


def test_each_job_is_compared_with_raw_batch_writes_of_its_items(report):
    for job in report["jobs"].values():
        # per customer at least its invoice, 5 ledger entries, its ledger head and its decision
        assert job["items_written"] >= 12 * 8
        assert job["raw_batch_write_seconds"] > 0
        # ratio = job seconds / raw seconds, both reported rounded (0.1 s and 0.01 s)
        assert abs(job["ratio_to_raw_batch"] * job["raw_batch_write_seconds"] - job["seconds"]) <= 0.06 + \
            0.005 * job["ratio_to_raw_batch"]


def test_a_test_clock_advanced_twelve_monthly_slots_bills_every_customer_each_month(report):
    year = report["year_advance"]
    assert (year["customers"], year["slots"], year["invoices"]) == (6, 12, 72)
    assert year["job_invoices"] == [6] * 12 and year["jobs_fanned_out"] == 0  # under the deployments' threshold
    assert year["seconds"] > 0 and year["requests_per_invoice"] > 0


def test_finding_the_due_schedules_reads_the_due_ones(report):
    due = report["due_schedules"]
    assert (due["schedules"], due["due"], due["found"]) == (300, 5, 5)
    assert due["items_read"] == 5  # bound: due + one per live shard query; measured: exactly the due ones
    assert due["by_operation"] == {"Query": 4}  # one per shard of the live due index, no Scan


def test_empty_billing_jobs_cost_a_few_requests_each(report):
    empty = report["empty_jobs"]
    assert (empty["hours"], empty["jobs"]) == (24, 25)  # the first slot is the clock's start
    assert report["checks"]["empty_jobs_completed_empty"] is True  # Completed, zero counts, no decision, BJ- numbers
    dynamodb = empty["dynamodb"]
    assert dynamodb["requests"] == sum(dynamodb["by_operation"].values())
    assert dynamodb["failed_requests"] == {} and dynamodb["unpriced_requests"] == {}
    assert dynamodb["per_job_by_operation"]["PutItem"] == 1.0  # the job; nothing else is created
    # 7 a slot (tests/functional/test_empty_job_cost.py); beside them, an advance with slots costs 16 more than an
    # idle one: the tenant, the due schedule (found, then read again before its first slot), the due index once more;
    # a second pass, which finds nothing (its due-work queries, invoice jobs' included, and its heartbeat), after
    # the progress record; and the look for the tenant's unfinished work before the clock is Ready (issue 15)
    assert dynamodb["requests"] - dynamodb["idle_advance_requests"] <= 7 * empty["jobs"] + 16
    assert empty["ms_per_job"] > 0


def test_machine_facts_are_reported(report):
    machine = report["machine"]
    assert machine["cpus"] >= 1 and machine["python"].startswith("3.") and machine["moto"]
