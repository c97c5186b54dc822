"""Operations: health (with the wall-clock tick's heartbeat) and the OpenAPI document. No key needed."""
from chalice import Blueprint, Response

from ..config import settings
from ..services import views
from . import schemas as s
from .http import operation
from .openapi import document_json

bp = Blueprint(__name__)
_document: str | None = None


@operation(bp, "GET", "/health", summary="Liveness, and when the wall-clock tick last ran", tag="Operations",
           auth="none", response=s.Health)
def health(call):
    last, count = views.last_tick()
    return {"status": "ok", "stage": settings().stage, "last_tick_at": last, "tick_count": count}


@operation(bp, "GET", "/openapi.json", summary="This OpenAPI 3.1 document", tag="Operations", auth="none")
def openapi_document(call):
    global _document
    if _document is None:
        _document = document_json()
    return Response(body=_document, status_code=200, headers={"Content-Type": "application/json"})
