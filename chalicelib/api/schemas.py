"""Request and response shapes (camelCase, as in the seeds). They validate input and document the API."""
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema)
from pydantic.alias_generators import to_camel

from ..domain.billing_schedules import IncrementSign, IncrementUnit, ScheduleStatus, ScheduleType
from ..domain.enums import (BillingPeriod, BillingTiming, CanonicalEnum, OrderStatus, ProductType,
                             SubscriptionStatus)
from ..domain.invoice_jobs import InvoiceJobKind, InvoiceJobPhase, InvoiceJobStatus, ResultState
from ..domain.bill_runs import BillRunStatus
from ..domain.invoice_schedules import InvoiceScheduleStatus, ItemStatus
from ..domain.invoices import InvoiceSource, InvoiceStatus, PaymentStatus
from ..domain.billing_jobs import JobStatus
from ..domain.recurring_invoices import RecurrencePeriod
from ..domain.tenants import ClockStatus
from ..domain.errors import BillrunError
from ..domain.json_values import MAX_JSON_BYTES, MAX_JSON_DEPTH, check_bounds
from ..domain.money import currency_code
from ..domain.timeutil import parse_date, parse_instant, zone_info


def _zone_name(value: str) -> str:
    zone_info(value)
    return value


def _currency(value: str) -> str:
    try:
        return currency_code(value)
    except BillrunError as error:
        raise ValueError(error.details[0].issue) from None


MAX_NUMBER = Decimal("1E+12")  # amounts, prices, quantities: products stay exact in 28 digits (and DynamoDB's 38)
MAX_PLACES = 12


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError("must be a JSON number")
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent < -MAX_PLACES:
        raise ValueError(f"at most {MAX_PLACES} decimal places")
    if isinstance(value, int) or value.is_finite():
        if (abs(value) if isinstance(value, int) else value.copy_abs()) >= MAX_NUMBER:  # abs() overflows on 1e999999999
            raise ValueError(f"must be less than {MAX_NUMBER:f} in absolute value")
    return value


# The OpenAPI document lists the zone names once, as a component, and api/openapi.py points these fields at it.
ZONE_NAME_KEY = "x-billrun-zone-name"
ZONE_NAME_MARK = {"type": "string", ZONE_NAME_KEY: True}
ZoneName = Annotated[str, AfterValidator(_zone_name), WithJsonSchema(ZONE_NAME_MARK)]
CurrencyCode = Annotated[str, AfterValidator(_currency),
                         WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{3}$", "example": "USD"})]


def _decimal(description: str, **lower) -> WithJsonSchema:
    """A JSON number read as an exact Decimal: what _number enforces, and the lower bound the domain holds it to
    (`minimum` or `exclusiveMinimum`; none: above -MAX_NUMBER)."""
    bounds = {"maximum": lower.pop("maximum")} if "maximum" in lower else {"exclusiveMaximum": MAX_NUMBER}
    return WithJsonSchema({"type": "number", **(lower or {"exclusiveMinimum": -MAX_NUMBER}), **bounds,
                           "description": f"{description}; an exact decimal of at most {MAX_PLACES} decimal places, "
                           f"less than {MAX_NUMBER:f} in absolute value"})


_MONEY = "money: at most the currency's minor units (ISO 4217: JPY 0, USD 2, KWD 3), more is a 400"
_Decimal = Annotated[Decimal, BeforeValidator(_number), Field(allow_inf_nan=False)]
Price = Annotated[_Decimal, _decimal(_MONEY, minimum=0)]  # the domain refuses a negative price
PositiveAmount = Annotated[_Decimal, _decimal(_MONEY, exclusiveMinimum=0)]
Quantity = Annotated[_Decimal, _decimal("a quantity", exclusiveMinimum=0)]
Percent = Annotated[_Decimal, _decimal("a percentage", minimum=0, maximum=100)]
ItemPercent = Annotated[_Decimal, _decimal("a percentage", exclusiveMinimum=0, maximum=100)]
AmountOut = Annotated[Decimal, WithJsonSchema({"type": "number"})]
Day = Annotated[date, BeforeValidator(parse_date), WithJsonSchema({"type": "string", "format": "date"})]
Instant = Annotated[datetime, BeforeValidator(parse_instant),
                    WithJsonSchema({"type": "string", "format": "date-time"})]
# Body integers and booleans are strict: JSON false is not 0, nor "yes" true (query parameters, text, stay lax).
BillCycleDay = Annotated[int, Field(ge=1, le=31, strict=True)]
TermDays = Annotated[int, Field(ge=0, le=3650, strict=True)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
# Free text and references are bounded: an unbounded string could outgrow DynamoDB's 400 KB item (a 500).
Ref = Annotated[str, Field(max_length=255)]
Text = Annotated[str, Field(max_length=4000)]
# Free-form JSON (stored exactly, decimals included) is bounded by its text's size and its nesting, which JSON
# Schema cannot express: the descriptions say it.
JSON_BOUNDS = (f"any JSON inside, stored and answered exactly; at most {MAX_JSON_BYTES} bytes as compact JSON "
               f"text (non-ASCII characters counted as \\uXXXX escapes) and {MAX_JSON_DEPTH} levels of nested "
               "arrays and objects")
FreeFormObject = Annotated[dict, AfterValidator(check_bounds)]
FreeFormArray = Annotated[list, AfterValidator(check_bounds)]


def enum_input(enum_cls):
    values = [m.value for m in enum_cls]
    return Annotated[enum_cls, BeforeValidator(enum_cls.parse),
                     WithJsonSchema({"type": "string", "enum": values,
                                     "description": "case-insensitive; spaces and underscores ignored"})]


class Input(BaseModel):
    """Request bodies: camelCase names only, unknown or read-only fields refused."""
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", validate_by_alias=True,
                              validate_by_name=False)


class Output(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, from_attributes=True, use_enum_values=True,
                              serialize_by_alias=True, validate_by_name=True)


T = TypeVar("T")


class Page(Output, Generic[T]):
    data: list[T]
    next_token: str | None = None


class ListQuery(Input):
    limit: Annotated[int, Field(ge=1, le=1000)] = 50
    next_token: str | None = None


class Error(Output):
    class Detail(Output):
        field: str
        issue: str

    error_code: str
    message: str
    details: list[Detail]


# --- tenants and keys -------------------------------------------------------------------------------

class TenantCreate(Input):
    name: Name
    test_mode: StrictBool = False
    timezone: ZoneName = "UTC"
    currency: CurrencyCode = "USD"
    clock_start: Instant | None = None
    payment_term_days: TermDays = 30


class Tenant(Output):
    id: str
    name: str
    test_mode: bool
    timezone: str
    currency: str
    payment_term_days: int
    generate_first_invoice_on_order_activation: bool
    clock: datetime | None = None
    created_date: datetime
    last_modified_date: datetime


class ApiKeyCreate(Input):
    name: Name = "api key"


class ApiKey(Output):
    id: str
    tenant_id: str
    name: str
    active: bool
    created_date: datetime
    revoked_date: datetime | None = None


class ApiKeyCreated(ApiKey):
    key: str | None = Field(description="the secret, shown once (null when an Idempotency-Key replays)")


class TenantCreated(Output):
    tenant: Tenant
    api_key: ApiKeyCreated


class TenantList(Output):
    data: list[Tenant]


class ApiKeyList(Output):
    data: list[ApiKey]


class Settings(Output):
    timezone: str
    currency: str
    payment_term_days: int
    generate_first_invoice_on_order_activation: bool


class SettingsUpdate(Input):
    timezone: ZoneName | None = None
    currency: CurrencyCode | None = None
    payment_term_days: TermDays | None = None
    generate_first_invoice_on_order_activation: StrictBool | None = None


# --- catalog ----------------------------------------------------------------------------------------

class CustomerUpdate(Input):
    name: Name | None = None
    email: Ref | None = None
    timezone: ZoneName | None = None
    payment_term_days: TermDays | None = None
    bill_cycle_day: BillCycleDay | None = None
    tax_rate: Percent | None = None
    bill_to_contact_id: Ref | None = None


class CustomerCreate(CustomerUpdate):
    name: Name
    currency: CurrencyCode | None = None


class Customer(Output):
    id: str
    name: str
    email: str | None
    timezone: str
    currency: str
    payment_term_days: int
    bill_cycle_day: int | None
    tax_rate: AmountOut
    bill_to_contact_id: str | None
    created_date: datetime
    last_modified_date: datetime


class ProductUpdate(Input):
    name: Name | None = None
    sku: Ref | None = None
    description: Text | None = None
    price: Price | None = None
    billing_period: enum_input(BillingPeriod) | None = None


class ProductCreate(ProductUpdate):
    name: Name
    price: Price
    product_type: enum_input(ProductType) = ProductType.RECURRING
    currency: CurrencyCode | None = None


class Product(Output):
    id: str
    name: str
    sku: str | None
    description: str | None
    product_type: ProductType
    price: AmountOut
    currency: str
    billing_period: BillingPeriod | None
    created_date: datetime
    last_modified_date: datetime


# --- orders and subscriptions -----------------------------------------------------------------------

class OrderLineInput(Input):
    product_id: Ref
    quantity: Quantity = Field(Decimal(1), json_schema_extra={"default": 1})
    unit_price: Price | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    billing_period: enum_input(BillingPeriod) | None = None
    bill_cycle_day: BillCycleDay | None = None
    billing_timing: enum_input(BillingTiming) | None = None


class OrderCreate(Input):
    customer_id: Ref
    order_date: Day | None = None
    description: Text | None = None
    lines: Annotated[list[OrderLineInput], Field(min_length=1, max_length=100)]


class OrderLine(Output):
    id: str
    product_id: str
    product_type: ProductType
    quantity: AmountOut
    unit_price: AmountOut
    amount: AmountOut
    start_date: date
    end_date: date | None
    billing_period: BillingPeriod | None
    bill_cycle_day: int | None
    billing_timing: BillingTiming
    subscription_id: str | None


class Order(Output):
    id: str
    customer_id: str
    currency: str
    status: OrderStatus
    order_date: date
    description: str | None
    lines: list[OrderLine]
    total_amount: AmountOut
    activated_date: datetime | None
    created_date: datetime
    last_modified_date: datetime
    invoice_schedule_id: str | None = Field(None, description="the invoice schedule billing this order, if any")


class OrderQuery(ListQuery):
    customer_id: str | None = None
    status: enum_input(OrderStatus) | None = None


class QuantityChange(Output):
    effective_date: date
    quantity: AmountOut


class Subscription(Output):
    id: str
    customer_id: str
    order_id: str
    order_line_id: str
    product_id: str
    currency: str
    status: SubscriptionStatus
    start_date: date
    end_date: date | None
    quantity: AmountOut = Field(description="the quantity in effect today (in the customer's zone)")
    quantity_changes: list[QuantityChange]
    unit_price: AmountOut
    billing_period: BillingPeriod
    bill_cycle_day: int
    billing_timing: BillingTiming
    billed_through: date | None
    cancellation_date: date | None
    created_date: datetime
    last_modified_date: datetime


class SubscriptionQuery(ListQuery):
    customer_id: str | None = None
    order_id: str | None = None
    status: enum_input(SubscriptionStatus) | None = None


class SubscriptionCancel(Input):
    effective_date: Day | None = Field(None, description="first day no longer in service; default today")


class SubscriptionUpdate(Input):
    quantity: Quantity
    effective_date: Day | None = Field(None, description="first day of the new quantity; default today")


# --- clock and operations ---------------------------------------------------------------------------

class Clock(Output):
    tenant_id: str
    now: datetime
    status: ClockStatus = Field(description="Advancing while the work that fell due on the way is being run")
    advancing_to: datetime | None = Field(description="the advance's target while it is Advancing (= now)")
    ran: dict[str, int] = Field(description="work items run per kind by the current (or the last) advance, so far")


class ClockAdvance(Input):
    to: Instant


class Health(Output):
    status: str
    stage: str
    last_tick_at: datetime | None
    tick_count: int


CustomerPage = Page[Customer]
ProductPage = Page[Product]
OrderPage = Page[Order]
SubscriptionPage = Page[Subscription]


# --- billing schedules and jobs (Nue, seed 000) --------------------------------------------------------

FilterText = Annotated[str, Field(max_length=4000, description="Hasura-style filter, e.g. {id: {_in: [\"...\"]}}; "
                                                            "the language and each entity's fields: docs/filters.md")]


class BillingScheduleUpdate(Input):
    description: Text | None = None
    schedule_start_date: Day | None = None
    invoice_date: Day | None = None
    target_date: Day | None = None
    recurring_schedule: Annotated[str, Field(max_length=256)] | None = Field(
        None, description="Quartz cron: sec min hour day-of-month month day-of-week [year], e.g. 0 0 3 ? * *")
    zone_id: ZoneName | None = None
    target_date_increment: Annotated[int, Field(ge=0, le=3660, strict=True)] | None = None
    target_date_increment_sign: enum_input(IncrementSign) | None = None
    target_date_increment_time_unit: enum_input(IncrementUnit) | None = None
    customer_filter: FilterText | None = None
    order_filter: FilterText | None = None
    product_filter: FilterText | None = None
    bill_cycle_day_filter: Annotated[str, Field(max_length=200)] | None = None
    daily_object: FreeFormObject | None = Field(None, description=f"Nue's UI fields, kept as given: {JSON_BOUNDS}")
    custom_expression: FreeFormArray | None = Field(None, description=f"kept as given: {JSON_BOUNDS}")
    activate_invoices: StrictBool | None = Field(None, description="activate the invoices the jobs create")


class ScheduleRecordType(CanonicalEnum):
    """The only recordType a billing schedule has (the seed sends it; "billingschedule" is fine too)."""
    BILLING_SCHEDULE = "BillingSchedule"


class BillingScheduleCreate(BillingScheduleUpdate):
    schedule_type: enum_input(ScheduleType)
    status: enum_input(ScheduleStatus) | None = Field(None, description="Draft (default) or Active")
    created_through: Annotated[str, Field(max_length=50)] | None = None
    record_type: enum_input(ScheduleRecordType) | None = None


class BillingSchedule(Output):
    id: str
    name: str
    record_type: str
    created_through: str
    schedule_type: ScheduleType
    status: ScheduleStatus
    description: str | None
    schedule_start_date: date
    invoice_date: date | None
    target_date: date | None
    recurring_schedule: str | None
    zone_id: str
    target_date_increment: int
    target_date_increment_sign: IncrementSign
    target_date_increment_time_unit: IncrementUnit
    customer_filter: str | None
    order_filter: str | None
    product_filter: str | None
    bill_cycle_day_filter: str | None
    daily_object: dict | None
    custom_expression: list
    activate_invoices: bool
    last_run_date: datetime | None
    next_run_date: datetime | None
    created_by_id: str
    last_modified_by_id: str
    created_date: datetime
    last_modified_date: datetime


class ScheduleIds(Input):
    schedule_ids: Annotated[list[Ref], Field(min_length=1, max_length=100)]


class BillingScheduleList(Output):
    data: list[BillingSchedule]


class ScheduleQuery(ListQuery):
    status: enum_input(ScheduleStatus) | None = None
    schedule_type: enum_input(ScheduleType) | None = None


class RunRequest(Input):
    target_date: Day | None = None
    invoice_date: Day | None = None


class SlotQuery(Input):
    count: Annotated[int, Field(ge=1, le=1000)] = 10


class Slots(Output):
    schedule_id: str
    zone_id: str
    slots: list[datetime]
    local_slots: list[str] = Field(description="the same instants as wall-clock times in zoneId")


class Decision(Output):
    customer_id: str
    decision: str
    reason: str | None
    invoice_id: str | None
    credit_memo_id: str | None
    lines: int


class JobCounts(Output):
    customers: int
    billed: int
    skipped: int
    errors: int
    invoices: int
    credit_memos: int


class BillingJob(Output):
    id: str
    name: str
    status: JobStatus
    schedule_id: str | None
    schedule_name: str | None
    target_date: date
    invoice_date: date
    scheduled_time: datetime
    is_catch_up: bool
    attempts: int
    started_time: datetime | None
    completed_time: datetime | None
    counts: JobCounts | None
    error: str | None
    created_by_id: str
    created_date: datetime
    units_total: int | None = Field(None, description="work units the job was split into (fan-out); null: "
                                                      "billed by one invocation")
    units_finished: int = 0
    retries: int = Field(0, description="times POST /billing/jobs/{id}:retry ran the job again after it Failed")


class BillingJobDetail(BillingJob):
    decisions: list[Decision]


class JobQuery(ListQuery):
    schedule_id: str | None = None
    status: enum_input(JobStatus) | None = None


class PreviewRequest(Input):
    schedule_id: Ref | None = None
    customer_filter: FilterText | None = None
    order_filter: FilterText | None = None
    product_filter: FilterText | None = None
    bill_cycle_day_filter: Annotated[str, Field(max_length=200)] | None = None
    target_date: Day | None = None
    invoice_date: Day | None = None


class DocumentLine(Output):
    id: str
    description: str
    subscription_id: str | None
    order_id: str | None = Field(None, description="with orderLineId: the order's OneTime line a one-time charge "
                                 "bills (subscriptionId is then null)")
    order_line_id: str | None = None
    product_id: str | None
    start_date: date | None
    end_date: date | None
    quantity: AmountOut
    unit_price: AmountOut
    amount: AmountOut
    proration_days: int | None
    proration_full_days: int | None


class InvoiceComment(Output):
    comment: str
    create_time: datetime
    create_user_name: str


class Invoice(Output):
    """The seed's invoice fields; those billrun does not use (e-invoicing, tax engines) are always null."""
    id: str
    name: str | None
    record_type: str = "Invoice"
    tenant_id: str | None = None
    customer_id: str
    sales_account_id: str | None = None
    currency_iso_code: str
    status: InvoiceStatus
    payment_status: PaymentStatus
    source: InvoiceSource
    invoice_date: date
    due_date: date
    start_date: date | None
    end_date: date | None
    target_date: date | None
    amount: AmountOut
    amount_without_tax: AmountOut
    tax_amount: AmountOut
    balance: AmountOut
    shipping_and_handling: AmountOut = Field(Decimal(0), json_schema_extra={"default": 0})
    tax_status: str = "Not Calculated"
    accounting_status: str = "Not Started"
    is_catch_up: bool
    bill_to_contact_id: str | None
    billing_job_id: str | None
    billing_schedule_id: str | None
    invoice_schedule_id: str | None = None
    invoice_schedule_item_id: str | None = None
    bill_run_id: str | None = None
    comments: str | None = Field(None, description="JSON text of [{comment, createTime, createUserName}]")
    custom_fields: dict | None
    invoice_pdf: str | None = Field(None, description="a 1-hour URL to the PDF of this version of the invoice, "
                                     "once GET /billing/invoices/{id}/pdf rendered it; null before")
    activated_by_id: str | None
    activated_time: datetime | None
    cancellation_date: date | None
    created_by_id: str | None
    last_modified_by_id: str | None
    created_date: datetime | None
    last_modified_date: datetime | None
    sync_time: datetime | None = None
    lines: list[DocumentLine]
    vat_messages: None = None
    einvoicing_mandate_id: None = None
    tax_company_code: None = None
    einvoicing_doc_status: None = None
    applied_by_object: None = None
    external_tax_id: None = None
    po_numbers: None = None
    tax_error_message: None = None
    po_dates: None = None
    applied_by_id: None = None
    payment_details: None = None
    einvoicing_message: None = None
    einvoicing_mandate_code: None = None
    entity_id: None = None
    payment_hosted_url: None = None
    external_invoice_id: None = None
    einvoicing_doc_id: None = None
    recurring_invoice_id: str | None = Field(None, description="the recurring invoice (BILL template) that "
                                                               "generated it, when source is RecurringInvoice")


class CreditMemo(Output):
    id: str
    name: str | None
    customer_id: str
    currency_iso_code: str
    memo_date: date
    amount: AmountOut
    amount_without_tax: AmountOut
    tax_amount: AmountOut
    reason: str
    billing_job_id: str | None
    lines: list[DocumentLine]
    created_by_id: str
    created_date: datetime


class Preview(Output):
    target_date: date
    invoice_date: date
    invoices: list[Invoice]
    credit_memos: list[CreditMemo]
    decisions: list[Decision]


class InvoiceQuery(ListQuery):
    customer_id: Ref | None = None
    status: enum_input(InvoiceStatus) | None = None


class CreditMemoQuery(ListQuery):
    customer_id: Ref | None = None


BillingSchedulePage = Page[BillingSchedule]
BillingJobPage = Page[BillingJob]
InvoicePage = Page[Invoice]
CreditMemoPage = Page[CreditMemo]


# --- invoice management (Nue, seed 001) ------------------------------------------------------------------

class CommentInput(Input):
    comment: Annotated[str, Field(min_length=1, max_length=4000)]


class InvoiceSelection(Input):
    invoice_ids: Annotated[list[Ref], Field(min_length=1, max_length=500)] | None = None
    graphql_filter: FilterText | None = Field(None, description="an invoice filter, e.g. {currency: {_eq: \"USD\"}}; "
                                                                "the invoice fields: docs/filters.md")


class InvoiceActivation(InvoiceSelection):
    invoice_date: Day | None = Field(None, description="a new invoice date; the due date moves with it")
    invoice_comment: CommentInput | None = None


class InvoiceCancellation(InvoiceSelection):
    invoice_comment: CommentInput | None = None


class InvoiceResult(Output):
    invoice_id: str
    success: bool
    status: InvoiceStatus | None
    message: str | None


class BulkResults(Output):
    results: list[InvoiceResult]
    succeeded: int
    failed: int


class InvoiceJobCounts(Output):
    selected: int
    succeeded: int
    failed: int
    pending: int


class InvoiceJob(Output):
    """A bulk invoice operation too large for one request: poll it until Completed or CompletedWithErrors."""
    id: str
    kind: InvoiceJobKind
    status: InvoiceJobStatus
    phase: InvoiceJobPhase
    graphql_filter: str
    invoice_date: date | None
    comment: str | None
    counts: InvoiceJobCounts | None
    attempts: int
    started_time: datetime | None
    completed_time: datetime | None
    error: str | None
    created_by_id: str
    created_date: datetime
    results_url: str


class InvoiceJobResult(Output):
    invoice_id: str
    state: ResultState
    status: InvoiceStatus | None
    message: str | None


InvoiceJobResultPage = Page[InvoiceJobResult]


class InvoiceJobResultQuery(ListQuery):
    state: enum_input(ResultState) | None = None


class InvoiceUpdate(Input):
    due_date: Day | None = None
    bill_to_contact_id: Ref | None = None
    custom_fields: FreeFormObject | None = Field(None, description=f"replaces the whole object: {JSON_BOUNDS}")


class PaymentRequest(Input):
    invoice_id: Ref
    amount: PositiveAmount
    payment_date: Day | None = None


class PaymentOut(Output):
    id: str
    amount: AmountOut
    payment_date: date
    created_time: datetime


class PaymentResult(Output):
    payment: PaymentOut
    invoice: Invoice


class Payment(PaymentOut):
    """A payment as listed: with the invoice it was applied to."""
    invoice_id: str
    customer_id: str
    currency: str


class PaymentQuery(ListQuery):
    invoice_id: Ref | None = None
    customer_id: Ref | None = None


PaymentPage = Page[Payment]


# --- recurring invoices (BILL, seed 003) ----------------------------------------------------------------------

Frequency = Annotated[int, Field(ge=1, le=1000, strict=True)]
DaysInAdvance = Annotated[int, Field(ge=0, le=3650, strict=True)]
LineDescription = Annotated[str, Field(max_length=1000)]


class RecurringScheduleUpdate(Input):
    period: enum_input(RecurrencePeriod) | None = None
    frequency: Frequency | None = None
    next_due_date: Day | None = None
    end_date: Day | None = Field(None, description="null: no end")
    days_in_advance: DaysInAdvance | None = None


class RecurringScheduleInput(Input):
    period: enum_input(RecurrencePeriod)
    frequency: Frequency = Field(1, description="periods between two invoices (MONTHLY x 3: every 3 months)")
    next_due_date: Day = Field(description="due date of the first invoice; its day anchors MONTHLY and YEARLY "
                                           "series (31: the last day of shorter months)")
    end_date: Day | None = Field(None, description="no invoice is due after it (inclusive); null: no end")
    days_in_advance: DaysInAdvance = Field(0, description="each invoice is generated this many days before its "
                                                          "due date")


class RecurringLineItemInput(Input):
    amount: Price = Field(description="per unit, in the customer's currency")
    quantity: Quantity | None = Field(None, description="default 1")
    description: LineDescription | None = None


class RecurringLineItemReplace(RecurringLineItemInput):
    id: Ref | None = Field(None, description="an existing line item's id keeps it; without one the item is new")


class RecurringLineItemUpdate(Input):
    id: Ref | None = Field(None, description="an existing line item's id updates it; without one the item is new")
    amount: Price | None = None
    quantity: Quantity | None = None
    description: LineDescription | None = None


class RecurringInvoiceCreate(Input):
    customer_id: Ref
    schedule: RecurringScheduleInput
    recurring_invoice_line_items: Annotated[list[RecurringLineItemInput], Field(min_length=1, max_length=100)]


class RecurringInvoiceReplace(Input):
    customer_id: Ref
    schedule: RecurringScheduleInput
    recurring_invoice_line_items: Annotated[list[RecurringLineItemReplace], Field(
        min_length=1, max_length=100, description="line items left out are removed")]


class RecurringInvoiceUpdate(Input):
    customer_id: Ref | None = None
    schedule: RecurringScheduleUpdate | None = None
    recurring_invoice_line_items: Annotated[list[RecurringLineItemUpdate], Field(
        min_length=1, max_length=100, description="the new list: line items left out are removed")] | None = None


class NoBody(Input):
    """An empty JSON object (or no body)."""


class RecurringSchedule(Output):
    period: RecurrencePeriod
    frequency: int
    next_due_date: date = Field(description="due date of the next invoice not generated yet")
    end_date: date | None
    days_in_advance: int


class RecurringLineItem(Output):
    id: str
    amount: AmountOut
    quantity: AmountOut
    description: str | None


class RecurringInvoice(Output):
    id: str
    archived: bool
    customer_id: str
    schedule: RecurringSchedule
    recurring_invoice_line_items: list[RecurringLineItem]
    created_time: datetime
    updated_time: datetime


class RecurringInvoiceQuery(ListQuery):
    customer_id: Ref | None = None
    archived: bool | None = None


RecurringInvoicePage = Page[RecurringInvoice]
# --- invoice schedules and bill runs (Zuora, seed 002) --------------------------------------------------------

ItemName = Annotated[str, Field(max_length=100)]
Notes = Annotated[str, Field(max_length=255)]


class ScheduleItemCreate(Input):
    name: ItemName | None = None
    run_date: Day = Field(description="the date (in the tenant's zone) the item is invoiced on")
    amount: PositiveAmount | None = Field(None, description="give amount or percentage")
    percentage: ItemPercent | None = Field(None, description="of the schedule's total; the last percentage item "
                                                             "takes the rounding remainder")


class ScheduleItemUpdate(ScheduleItemCreate):
    id: Ref | None = Field(None, description="an existing item (omitted: a new item)")


class InvoiceScheduleCreate(Input):
    account_key: Ref | None = Field(None, description="the customer (optional: the orders' customer)")
    orders: Annotated[list[Ref], Field(min_length=1, max_length=10, description="order ids, one customer")]
    schedule_items: Annotated[list[ScheduleItemCreate], Field(min_length=1, max_length=50)]
    currency: CurrencyCode | None = Field(None, description="optional: must be the orders' currency")
    notes: Notes | None = None


class InvoiceScheduleUpdate(Input):
    schedule_items: Annotated[list[ScheduleItemUpdate], Field(max_length=50)] = Field(
        description="the pending items (executing and processed ones are kept as they are)")
    orders: Annotated[list[Ref], Field(max_length=10)] | None = Field(None, description="unchanged, if given")
    notes: Notes | None = None


class InvoiceScheduleItem(Output):
    id: str
    name: str | None
    run_date: date
    amount: AmountOut
    actual_amount: AmountOut
    percentage: AmountOut | None
    status: ItemStatus
    invoice_id: str | None
    invoice_number: str | None
    credit_memo_id: None = None
    bill_run_id: str | None
    target_date_for_additional_subscriptions: None = None


class InvoiceSchedule(Output):
    id: str
    number: str
    account_id: str
    orders: list[str]
    currency: str
    notes: str | None
    status: InvoiceScheduleStatus
    total_amount: AmountOut
    actual_amount: AmountOut
    billed_amount: AmountOut
    unbilled_amount: AmountOut
    next_run_date: date | None
    invoice_separately: bool = False
    additional_subscriptions_to_bill: list[str] = Field(default_factory=list)
    specific_subscriptions: list[dict] = Field(default_factory=list)
    schedule_items: list[InvoiceScheduleItem]
    created_by_id: str
    created_date: datetime
    updated_by_id: str
    updated_date: datetime
    success: bool = True


class Empty(Input):
    """No fields (an empty object, or no body)."""


class ExecuteRequest(Input):
    schedule_item_id: Ref | None = Field(None, description="omitted: the next pending item (earliest run date)")
    auto_post: StrictBool = Field(False, description="post (activate) the invoice the bill run makes")


class BillRunFilter(Output):
    filter_type: str = "InvoiceSchedule"
    account_id: str
    subscription_id: None = None
    invoice_schedule_id: str
    invoice_schedule_item_id: str | None = Field(description="as the execute request gave it (null: next pending)")


class BillRunInvoice(Output):
    id: str
    invoice_number: str
    invoice_schedule_item_id: str


class BillRun(Output):
    """The seed's bill run fields, plus the item it executes, the invoices it made and its error."""
    id: str
    auto_email: bool = False
    auto_post: bool
    auto_renewal: bool = False
    bill_cycle_day: None = None
    bill_run_number: str
    invoice_date: date
    no_email_for_zero_amount_invoice: bool = False
    status: BillRunStatus
    target_date: date
    target_date_offset: None = None
    invoice_date_offset: None = None
    scheduled_execution_time: None = None
    created_by_id: str
    created_date: datetime
    updated_by_id: str
    updated_date: datetime
    batches: None = None
    charge_type_to_exclude: list[str]
    bill_run_filters: list[BillRunFilter]
    schedule: None = None
    invoice_schedule_item_id: str = Field(description="the item the bill run executes")
    invoices: list[BillRunInvoice]
    error_message: str | None
    success: bool = True


class InvoiceScheduleQuery(ListQuery):
    account_id: Ref | None = Field(None, description="the customer's schedules")
    order_id: Ref | None = Field(None, description="the schedule billing this order (at most one)")
    status: enum_input(InvoiceScheduleStatus) | None = None


class BillRunQuery(ListQuery):
    account_id: Ref | None = Field(None, description="the customer's bill runs")
    order_id: Ref | None = Field(None, description="the bill runs of the schedule billing this order")
    status: enum_input(BillRunStatus) | None = None


InvoiceSchedulePage = Page[InvoiceSchedule]
BillRunPage = Page[BillRun]
