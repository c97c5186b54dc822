"""`python -m bench` (`make bench`): a benchmark, not a test. Progress goes to stderr; one JSON object to stdout.

It starts moto's server in a child process (chalicelib.local.stack.start_moto, plus bench/capacity.py),
seeds it with batch writes (not measured), then measures:
  1. single_process: a tenant with N subscriptions over C customers, billed by one billing job in this process
     (the fan-out threshold set above C);
  2. fan_out: the same data shape in a second tenant, billed by one billing job split into work units (the
     configured thresholds) sent through moto's SQS and billed by app.worker in local worker loops;
  3. due_schedules: S live billing schedules of which D are due; the tick's lookup of the due ones;
  4. empty_jobs: a test clock advanced H hours over an hourly billing schedule with nothing in scope (H + 1 jobs);
  5. year_advance: a test-mode tenant with Y customers (one subscription each) advanced 12 monthly slots, with one
     worker loop beside it and the deployments' fan-out settings (as `make run` has them), until its clock reads Ready.
Both jobs must write one invoice per customer with a subscription, with equal totals, and every empty job must be
Completed with zero counts: otherwise it exits 1."""
import argparse
import json
import os
import platform
import resource
import sys
import time

from . import moto_server, scenarios, seed
from .meter import Meter, Tally


SINGLE, FAN_OUT, DUE, EMPTY, YEAR = "bench-single", "bench-fanout", "bench-due", "bench-empty", "bench-year"


def parse(argv=None) -> argparse.Namespace:
    from chalicelib.config import settings

    defaults = settings()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--subscriptions", "-n", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4, help="local worker loops for the fan-out job")
    parser.add_argument("--fanout-customers", type=int, default=500,
                        help="BILLRUN_FANOUT_CUSTOMERS for the fan-out job (below the deployments' default, so the "
                             "default 2,000 customers fan out)")
    parser.add_argument("--unit-customers", type=int, default=defaults.unit_customers,
                        help="BILLRUN_UNIT_CUSTOMERS for the fan-out job")
    parser.add_argument("--empty-hours", type=int, default=48,
                        help="hours the empty tenant's test clock advances (one empty billing job per hour)")
    parser.add_argument("--year-customers", type=int, default=1000,
                        help="customers (one subscription each) of the tenant whose clock advances 12 monthly slots; "
                             "0 skips it")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python allocations during each job (slows the jobs down)")
    args = parser.parse_args(argv)
    if args.customers < 1 or args.subscriptions < 1 or args.due > args.schedules or args.empty_hours < 1:
        parser.error("need at least one customer, subscription and empty hour, and no more due schedules than "
                     "schedules")
    return args


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse(argv)
    began = time.perf_counter()
    from chalicelib.local import stack

    port = stack.free_port()
    progress(f"starting moto's server on 127.0.0.1:{port} (child process)")
    moto = moto_server.spawn(port)
    try:
        for name in ("DYNAMODB_ENDPOINT_URL", "S3_ENDPOINT_URL", "SQS_ENDPOINT_URL", "BILLRUN_WORK_QUEUE"):
            os.environ.pop(name, None)  # the bench's own moto, whatever the shell points at
        stack.configure_environment(port, admin_key="bench")
        os.environ["BILLRUN_RENDER_PDFS"] = "false"  # billing alone: the worker loops render no invoice PDFs
        meter = Meter()
        meter.install()
        sys.stdout = sys.stderr  # billrun's JSON log lines (and any EMF document) go to stderr with the progress
        report = run(args, meter, moto.pid)
        report["memory"]["moto_server_peak_rss_mib"] = scenarios.moto_peak_rss_mib(moto.pid)
    finally:
        sys.stdout = sys.__stdout__
        moto_server.stop(moto)
    report["total_seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(report, indent=2))  # stdout: this object only
    return 0 if report["checks"]["passed"] else 1


def run(args, meter: Meter, moto_pid: int) -> dict:
    timings, load_before = {}, _load()
    started = time.perf_counter()
    progress(f"seeding two tenants with {args.subscriptions} subscriptions over {args.customers} customers each")
    scenarios.use_tables(SINGLE)
    single_world = seed.world(SINGLE, args.subscriptions, args.customers)
    scenarios.use_tables(FAN_OUT)
    fanout_world = seed.world(FAN_OUT, args.subscriptions, args.customers)
    timings["seed_worlds"] = round(time.perf_counter() - started, 1)

    progress("single_process: one billing job, billed in this process")
    scenarios.use_tables(SINGLE)
    os.environ["BILLRUN_FANOUT_CUSTOMERS"] = str(args.customers + 1)
    single = scenarios.single_process(single_world, meter, args.tracemalloc, moto_pid)
    progress(f"single_process: {single.invoices} invoices in {single.seconds:.1f} s")

    progress(f"fan_out: one billing job in units of {args.unit_customers} customers, {args.workers} workers")
    scenarios.use_tables(FAN_OUT)
    os.environ["BILLRUN_FANOUT_CUSTOMERS"] = str(args.fanout_customers)
    os.environ["BILLRUN_UNIT_CUSTOMERS"] = str(args.unit_customers)
    fanned = scenarios.fanned_out(fanout_world, meter, args.tracemalloc, moto_pid, args.workers)
    progress(f"fan_out: {fanned.invoices} invoices in {fanned.seconds:.1f} s, {fanned.job.units_total} units")

    progress(f"seeding {args.schedules} billing schedules, {args.due} due")
    started = time.perf_counter()
    scenarios.use_tables(DUE)
    expected = seed.schedules(args.schedules, args.due)
    timings["seed_schedules"] = round(time.perf_counter() - started, 1)
    lookup = scenarios.due_lookup(expected, meter)
    progress(f"due_schedules: found {lookup.found}, read {lookup.tally.items_read} items")

    progress(f"empty_jobs: a test clock advanced {args.empty_hours} hours over an hourly schedule, nothing in scope")
    scenarios.use_tables(EMPTY)
    empty = scenarios.empty_jobs(*seed.empty_tenant(EMPTY), args.empty_hours, meter)
    progress(f"empty_jobs: {empty.jobs} jobs, {sum(empty.tally.of('dynamodb').values())} DynamoDB requests")

    year = None
    if args.year_customers:
        progress(f"year_advance: {args.year_customers} customers, a test clock advanced 12 monthly slots")
        for name in ("BILLRUN_FANOUT_CUSTOMERS", "BILLRUN_UNIT_CUSTOMERS"):
            os.environ.pop(name, None)  # a deployment's defaults, as `make run` has them
        scenarios.use_tables(YEAR)
        year_world = seed.world(YEAR, args.year_customers, args.year_customers)
        year = scenarios.year_advance(year_world, seed.monthly_schedule(year_world.tenant), 12, meter, workers=1)
        progress(f"year_advance: {len(year.jobs)} jobs, {year.invoices} invoices in {year.seconds:.1f} s")

    raw = {}
    for name, job in (("single_process", single), ("fan_out", fanned)):
        t = job.tally
        raw[name] = scenarios.raw_batch_write(t.items_written, t.item_bytes_written // max(1, t.items_written),
                                              table=f"bench-raw-{name}")
    progress(f"raw batch writes of the same items: {raw}")

    checks = _checks(single_world, single, fanned, lookup, empty, args, year)
    for failed in (name for name, ok in checks.items() if ok is False):
        progress(f"CHECK FAILED: {failed}")
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "moto": _version("moto"),
                    "pynamodb": _version("pynamodb"), "platform": platform.platform(),
                    "load_average_1min": {"at_start": load_before, "at_end": _load()}},
        "parameters": {"subscriptions": single_world.subscriptions, "customers": args.customers,
                       "customers_with_subscriptions": single_world.customers_billed, "schedules": args.schedules,
                       "due": args.due, "workers": args.workers, "fanout_customers": args.fanout_customers,
                       "unit_customers": args.unit_customers},
        "jobs": {"single_process": _job(single, None, SINGLE, raw["single_process"]),
                 "fan_out": _job(fanned, fanned.job.units_total, FAN_OUT, raw["fan_out"])},
        "due_schedules": _due(lookup, args, expected),
        "empty_jobs": _empty(empty, args.empty_hours),
        "year_advance": _year(year, args.year_customers),
        "checks": {**checks, "passed": all(checks.values())},
        "memory": {"process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
        "seeding_seconds": timings,
        "notes": NOTES,
    }


NOTES = {
    "capacity": "read_units/write_units/index_write_units are computed by DynamoDB's documented rules from the "
                "items moto holds (bench/capacity.py: reads per 4 KB, half for eventually consistent and index "
                "reads; writes per 1 KB of the larger of the item before and after; one index write per entry "
                "put, changed or removed, two when an index key changes; a failed conditional write costs the "
                "existing item). moto_reported_units is what moto 5.2.5 answered to ReturnConsumedCapacity: "
                "constants per operation, whatever the items. minimum_write_units_per_invoice: the same items and "
                "index entries written once each outside transactions (which double an item's units); "
                "write_units_over_minimum = (write_units + index_write_units) / that.",
    "memory": "peak_rss_mib: this process's resident-set high-water mark during the job (Linux VmHWM, reset "
              "before the job), i.e. billrun with its workers; moto runs in a child process "
              "(moto_server_peak_rss_mib). tracemalloc_peak_mib: Python allocations' peak during the job, only "
              "with --tracemalloc (it slows the job). process_peak_rss_mib: this process's peak over the whole "
              "run, seeding included.",
    "empty_jobs": "requests_per_job is the advance's whole count over its jobs, so it includes the advance's own "
                  "few requests (the clock's move, the due-work queries, the tick's heartbeat): idle_advance_requests "
                  "is a further half-hour advance in which no slot falls, subtracted in "
                  "requests_per_job_beyond_idle_advance. The schedule's first slot is the clock's start, hence "
                  "hours + 1 jobs.",
    "raw_batch": "raw_batch_write_seconds: the job's items_written (items put, updated or deleted by its successful "
                 "write requests, batches and transactions counted item by item), each of the job's average item "
                 "size, written by BatchWriteItem (25 a request, one boto3 client, one thread) into a table of "
                 "their own on the same moto server, after the job; ratio_to_raw_batch = job seconds / that.",
    "requests": "dynamodb and sqs requests counted with botocore hooks on every client of this process, during "
                "the job only; sqs includes the worker loops' start (GetQueueUrl, GetQueueAttributes), receives (empty "
                "long polls too) and deletes.",
    "time": "seconds are wall-clock and depend on the machine's load (load_average_1min); cpu_seconds splits the "
            "work between this process (billrun, its workers, the meter) and the moto server's process.",
}


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _version(package: str) -> str:
    from importlib.metadata import version
    return version(package)


def _per(value: float, invoices: int, digits: int = 2) -> float | None:
    return round(value / invoices, digits) if invoices else None


def _job(run: scenarios.JobRun, units: int | None, tables: str, raw_seconds: float) -> dict:
    t: Tally = run.tally
    dynamodb = t.of("dynamodb")
    requests = sum(dynamodb.values())
    return {
        "status": run.job.status.value,
        "invoices": run.invoices,
        "invoice_total": str(run.invoice_total),
        "seconds": round(run.seconds, 1),
        "invoices_per_second": round(run.invoices / run.seconds, 2) if run.seconds else None,
        "units": units,
        "items_written": t.items_written,
        "raw_batch_write_seconds": round(raw_seconds, 2),
        "ratio_to_raw_batch": round(run.seconds / raw_seconds, 2) if raw_seconds else None,
        "dynamodb": {
            "requests": requests,
            "requests_per_invoice": _per(requests, run.invoices),
            "by_operation": dynamodb,
            "per_invoice_by_operation": {op: _per(n, run.invoices) for op, n in dynamodb.items()},
            "failed_requests": {k.split(".", 1)[1]: n for k, n in t.errors.items() if k.startswith("dynamodb.")},
            "items_read_per_invoice": _per(t.items_read, run.invoices),
            "read_units_per_invoice": _per(t.read_units, run.invoices),
            "write_units_per_invoice": _per(t.write_units, run.invoices),
            "index_write_units_per_invoice": _per(t.index_write_units, run.invoices),
            "minimum_write_units_per_invoice": _per(t.minimum_write_units, run.invoices),
            "write_units_over_minimum": round((t.write_units + t.index_write_units) / t.minimum_write_units, 2)
            if t.minimum_write_units else None,
            "units_per_invoice_by_table": _by_table(t, run.invoices, tables),
            "moto_reported_units_per_invoice": _per(t.moto_reported_units, run.invoices),
            "unpriced_requests": dict(t.unpriced),
        },
        "sqs": {"requests": sum(t.of("sqs").values()), "by_operation": t.of("sqs")},
        "cpu_seconds": {"bench_process": run.usage.cpu_seconds, "moto_server": run.usage.moto_cpu_seconds},
        "memory": {"peak_rss_mib": run.usage.peak_rss_mib, "tracemalloc_peak_mib": run.usage.tracemalloc_peak_mib},
    }


def _by_table(t: Tally, invoices: int, tables: str) -> dict:
    """{table: {read, write, index_write}} per invoice, tables named without the scenario's prefix."""
    prefix = f"{tables}-"
    return {name.removeprefix(prefix): {"read": _per(r, invoices), "write": _per(w, invoices),
                                        "index_write": _per(i, invoices)}
            for name, (r, w, i, _) in sorted(t.capacity.items())}


def _due(lookup: scenarios.DueLookup, args, expected: set) -> dict:
    t = lookup.tally
    dynamodb = t.of("dynamodb")
    return {"schedules": args.schedules, "due": len(expected), "found": lookup.found,
            "items_read": t.items_read, "requests": sum(dynamodb.values()), "by_operation": dynamodb,
            "read_units": round(t.read_units, 2), "moto_reported_units": t.moto_reported_units,
            "seconds": round(lookup.seconds, 3)}


def _empty(run: scenarios.EmptyJobs, hours: int) -> dict:
    t = run.tally
    dynamodb = t.of("dynamodb")
    requests, idle = sum(dynamodb.values()), sum(run.idle.of("dynamodb").values())
    return {"hours": hours, "jobs": run.jobs, "seconds": round(run.seconds, 2),
            "ms_per_job": _per(run.seconds * 1000, run.jobs, 1),
            "dynamodb": {
                "requests": requests,
                "requests_per_job": _per(requests, run.jobs),
                "idle_advance_requests": idle,
                "requests_per_job_beyond_idle_advance": _per(requests - idle, run.jobs),
                "by_operation": dynamodb,
                "per_job_by_operation": {op: _per(n, run.jobs) for op, n in dynamodb.items()},
                "failed_requests": {k.split(".", 1)[1]: n for k, n in t.errors.items() if k.startswith("dynamodb.")},
                "read_units_per_job": _per(t.read_units, run.jobs),
                "write_units_per_job": _per(t.write_units, run.jobs),
                "index_write_units_per_job": _per(t.index_write_units, run.jobs),
                "unpriced_requests": dict(t.unpriced)}}


def _year(run, customers: int) -> dict | None:
    if run is None:
        return None
    dynamodb = run.tally.of("dynamodb")
    return {"customers": customers, "slots": len(run.jobs), "invoices": run.invoices, "seconds": round(run.seconds, 1),
            "invoices_per_second": round(run.invoices / run.seconds, 2) if run.seconds else None,
            "jobs_fanned_out": sum(1 for job in run.jobs if job.units_total), "dynamodb_requests": sum(dynamodb.values()),
            "requests_per_invoice": _per(sum(dynamodb.values()), run.invoices),
            "job_invoices": [(job.counts or {}).get("invoices") for job in run.jobs]}


def _checks(world: seed.World, single, fanned, lookup, empty, args, year=None) -> dict:
    return {
        "year_advance_billed_every_slot": year is None or (
            len(year.jobs) == 12 and all(job.status.value == "Completed" for job in year.jobs)
            and year.invoices == sum((job.counts or {}).get("invoices", 0) for job in year.jobs)
            and all((job.counts or {}).get("billed") == args.year_customers for job in year.jobs)),
        "single_process_completed": single.job.status.value == "Completed",
        "fan_out_completed": fanned.job.status.value == "Completed",
        "invoices_equal_customers_billed": single.invoices == fanned.invoices == world.customers_billed,
        "equal_invoice_totals": single.invoice_total == fanned.invoice_total
        and single.invoice_amounts == fanned.invoice_amounts,
        "fan_out_split": (fanned.job.units_total or 0) > 1 or args.fanout_customers >= world.customers_billed,
        "due_found_exactly": lookup.correct,
        "empty_jobs_completed_empty": empty.in_one_request
        and empty.jobs == empty.empty_and_completed == args.empty_hours + 1 and empty.unique_numbers,
    }


if __name__ == "__main__":
    sys.exit(main())
