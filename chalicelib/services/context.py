"""Who is asking, for which tenant, at what instant of that tenant's clock."""
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from ..domain.tenants import Tenant
from ..domain.timeutil import local_date

_ID_NAMESPACE = uuid.UUID("6f1c3c0e-6d8f-4c57-9a51-2b7f0e1b5a10")


@dataclass
class RequestContext:
    tenant: Tenant
    actor_id: str
    actor_name: str
    now: datetime  # the tenant's clock: the wall for live tenants, the test clock for test-mode ones
    idempotency_key: str | None = None
    _issued: int = field(default=0, repr=False)

    def new_id(self) -> str:
        """Random, or derived from the Idempotency-Key so a retried create writes the same ids again."""
        self._issued += 1
        if self.idempotency_key is None:
            return str(uuid.uuid4())
        return str(uuid.uuid5(_ID_NAMESPACE, f"{self.tenant.id}/{self.idempotency_key}/{self._issued}"))

    def today(self, timezone: str | None = None) -> date:
        return local_date(self.now, timezone or self.tenant.timezone)
