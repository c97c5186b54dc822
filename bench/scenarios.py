"""The measured runs: one billing job in one process, one billing job fanned out to SQS workers, the tick's
lookup of due billing schedules, and a test clock's advance over billing jobs with nothing in scope. Each answers
plain numbers; __main__ turns them into the report."""
import os
import resource
import sys
import threading
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from chalicelib.domain.billing_jobs import UNFINISHED, BillingJob
from chalicelib.domain.tenants import LIVE_CLOCK
from chalicelib.local.ticker import run_worker_loop
from chalicelib.services import billing_job_runner, billing_jobs
from chalicelib.services import clock
from chalicelib.services.ids import derived_id
from chalicelib.store import documents
from chalicelib.store import billing_jobs as job_store
from chalicelib.store import billing_schedules as schedule_store
from chalicelib.store import tenants as tenant_store

from . import seed
from .meter import Meter, Tally


@dataclass
class Usage:
    peak_rss_mib: float | None = None  # this process's resident set high-water mark during the run
    tracemalloc_peak_mib: float | None = None  # Python allocations' peak during the run (--tracemalloc)
    cpu_seconds: float = 0.0  # this process (billrun, its worker threads, the bench's meter)
    moto_cpu_seconds: float | None = None  # the moto server's process


@contextmanager
def usage(trace: bool, moto_pid: int | None):
    """Memory and CPU during the block. Peak RSS is Linux's VmHWM, reset first through clear_refs (so seeding
    before does not count); None where that is not available. CPU: user + system time of both processes."""
    used = Usage()
    resettable = _reset_peak()
    cpu, moto_cpu = _own_cpu(), _cpu_of(moto_pid)
    if trace:
        tracemalloc.start()
    try:
        yield used
    finally:
        if trace:
            used.tracemalloc_peak_mib = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
        used.peak_rss_mib = _vm_hwm_mib() if resettable else None
        used.cpu_seconds = round(_own_cpu() - cpu, 1)
        after = _cpu_of(moto_pid)
        used.moto_cpu_seconds = round(after - moto_cpu, 1) if after is not None and moto_cpu is not None else None


def _own_cpu() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    return mine.ru_utime + mine.ru_stime


def _cpu_of(pid: int | None) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, TypeError, ValueError, IndexError):
        return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as control:
            control.write("5")  # resets the peak RSS (VmHWM) to the current RSS
        return True
    except OSError:
        return False


def _vm_hwm_mib(pid: int | str = "self") -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@dataclass
class JobRun:
    job: BillingJob
    seconds: float
    tally: Tally
    usage: Usage
    invoices: int  # written to the store (read back after the run, not measured)
    invoice_total: Decimal
    invoice_amounts: list


def _new_job(world: seed.World, label: str) -> BillingJob:
    return billing_jobs.new_job(world.tenant, job_id=derived_id(world.tenant.id, label),
                                scheduled_time=seed.CLOCK, target_date=seed.TARGET_DATE,
                                invoice_date=seed.INVOICE_DATE, created_by_id="bench", now=seed.CLOCK)


def single_process(world: seed.World, meter: Meter, trace: bool, moto_pid: int | None) -> JobRun:
    """One billing job over the world, billed by the process that runs it (no fan-out)."""
    with meter.measuring() as tally, usage(trace, moto_pid) as used:
        started = time.perf_counter()
        job = _new_job(world, "single")
        done = billing_job_runner.bill_job(world.tenant, job.id, seed.CLOCK)
        seconds = time.perf_counter() - started
    return _finished(world, meter, done, seconds, tally, used)


def fanned_out(world: seed.World, meter: Meter, trace: bool, moto_pid: int | None, workers: int,
               poll_seconds: float = 0.2) -> JobRun:
    """One billing job split into work units on SQS; `workers` local worker loops (Lambda's event source
    mapping) bill them with app.worker in this process. Timed from the job's creation to its completion."""
    stop = threading.Event()
    loops = [threading.Thread(target=run_worker_loop, args=(stop,), kwargs={"on_error": _stderr},
                              name=f"bench-worker-{n}", daemon=True) for n in range(workers)]
    for loop in loops:
        loop.start()
    try:
        with meter.measuring() as tally, usage(trace, moto_pid) as used:
            started = time.perf_counter()
            job = _new_job(world, "fan-out")
            job = billing_job_runner.bill_job(world.tenant, job.id, seed.CLOCK)
            with meter.paused():  # the bench's own polling is not billrun's work
                while job.status in UNFINISHED:
                    time.sleep(poll_seconds)
                    job = job_store.jobs.get(world.tenant.id, job.id)
            seconds = time.perf_counter() - started
            _stop(stop, loops)  # measured too: the last worker deletes its message after the job shows Completed
    finally:
        _stop(stop, loops)
    return _finished(world, meter, job, seconds, tally, used)


def _stop(stop: threading.Event, loops: list[threading.Thread]) -> None:
    stop.set()
    for loop in loops:
        loop.join(timeout=30)


def _finished(world, meter: Meter, job: BillingJob, seconds: float, tally: Tally, used: Usage) -> JobRun:
    with meter.paused():
        amounts, token = [], None
        while True:
            page, token = documents.invoices.list(world.tenant.id, limit=1000, next_token=token)
            amounts += [invoice.amount for invoice in page]
            if token is None:
                break
    return JobRun(job, seconds, tally, used, len(amounts), sum(amounts, Decimal(0)), sorted(amounts))


@dataclass
class DueLookup:
    found: int
    correct: bool  # exactly the due schedules
    tally: Tally
    seconds: float


def due_lookup(expected: set, meter: Meter) -> DueLookup:
    """What the tick does to find due billing schedules in the live clock (store.billing_schedules.due)."""
    with meter.measuring() as tally:
        started = time.perf_counter()
        found = schedule_store.due(LIVE_CLOCK, seed.DUE_AT)
        seconds = time.perf_counter() - started
    return DueLookup(len(found), set(found) == expected and len(found) == len(expected), tally, seconds)


@dataclass
class EmptyJobs:
    jobs: int  # billing jobs of the schedule after the advance (read after it, not measured)
    empty_and_completed: int  # of them: Completed, zero counts, an empty decision log, a BJ- number
    unique_numbers: bool
    tally: Tally
    seconds: float
    idle: Tally  # a further advance of half an hour, in which no slot falls: the advance's own requests
    in_one_request: bool  # the advance finished within its request's budget (no 202)


def empty_jobs(tenant, schedule, hours: int, meter: Meter) -> EmptyJobs:
    """The tenant's test clock advanced `hours` hours (one request's work, as POST .../clock:advance does): every
    slot of its hourly billing schedule becomes a billing job with nothing in scope."""
    with meter.measuring() as tally:
        started = time.perf_counter()
        moved, done = clock.advance(tenant, tenant.clock + timedelta(hours=hours))
        seconds = time.perf_counter() - started
    with meter.measuring() as idle:
        clock.advance(moved, moved.clock + timedelta(minutes=30))
    with meter.paused():
        jobs, _ = job_store.jobs.list(tenant.id, schedule_id=schedule.id, limit=1000)
        empty = [job for job in jobs if job.status.value == "Completed" and job.name.startswith("BJ-")
                 and not any(job.counts.values()) and not job_store.decisions(tenant.id, job.id)]
    return EmptyJobs(len(jobs), len(empty), len({job.name for job in jobs}) == len(jobs), tally, seconds, idle, done)


@dataclass
class YearAdvance:
    jobs: list  # the schedule's billing jobs, in slot order
    invoices: int
    seconds: float
    tally: Tally


def year_advance(world: seed.World, schedule, months: int, meter: Meter, workers: int,
                 poll_seconds: float = 0.2) -> YearAdvance:
    """The world's test clock advanced `months` months over its monthly schedule, as POST /test/clock:advance does
    with `make run`'s worker loops beside it (a job above the fan-out threshold goes to them, and so does an advance
    that outlasts its request): timed from the request until the clock reads Ready."""
    stop = threading.Event()
    loops = [threading.Thread(target=run_worker_loop, args=(stop,), kwargs={"on_error": _stderr},
                              name=f"bench-year-worker-{n}", daemon=True) for n in range(workers)]
    for loop in loops:
        loop.start()
    to = world.tenant.clock.replace(year=world.tenant.clock.year + (world.tenant.clock.month - 1 + months) // 12,
                                    month=(world.tenant.clock.month - 1 + months) % 12 + 1) - timedelta(seconds=1)
    try:
        with meter.measuring() as tally:
            started = time.perf_counter()
            moved, done = clock.advance(world.tenant, to)
            with meter.paused():
                while moved.advancing_to is not None:
                    time.sleep(poll_seconds)
                    moved = tenant_store.get_tenant(world.tenant.id)
            seconds = time.perf_counter() - started
    finally:
        _stop(stop, loops)
    with meter.paused():
        jobs, _ = job_store.jobs.list(world.tenant.id, schedule_id=schedule.id, limit=1000)
        invoices, token = 0, None
        while True:
            page, token = documents.invoices.list(world.tenant.id, limit=1000, next_token=token)
            invoices += len(page)
            if token is None:
                break
    return YearAdvance(sorted(jobs, key=lambda job: job.scheduled_time), invoices, seconds, tally)


def raw_batch_write(items: int, item_bytes: int, table: str = "bench-raw") -> float:
    """Seconds to write `items` items of about `item_bytes` each by BatchWriteItem, 25 a request, one after the
    other from one boto3 client, to the same endpoint: what the store itself takes for a job's writes."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"])
    if table not in client.list_tables()["TableNames"]:
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}])
    payload = "x" * max(0, item_bytes - 60)  # the keys and names carry the rest
    started = time.perf_counter()
    for first in range(0, items, 25):
        requests = [{"PutRequest": {"Item": {"pk": {"S": f"raw#{n % 97}"}, "sk": {"S": f"{n:09d}"},
                                             "payload": {"S": payload}}}}
                    for n in range(first, min(first + 25, items))]
        while requests:
            answer = client.batch_write_item(RequestItems={table: requests})
            requests = answer.get("UnprocessedItems", {}).get(table, [])
    return time.perf_counter() - started


def moto_peak_rss_mib(pid: int) -> float | None:
    return _vm_hwm_mib(pid)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def use_tables(prefix: str) -> None:
    """Each scenario has tables (and work queues) of its own, named <prefix>-...: moto answers an index Query by
    reading the whole table, so a scenario must not pay for another scenario's items."""
    from chalicelib.store import tables, work_queue

    os.environ["BILLRUN_TABLE_PREFIX"] = prefix
    tables.create_all()
    work_queue.ensure_queues()
