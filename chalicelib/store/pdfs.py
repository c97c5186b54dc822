"""Owns the invoice-PDF bucket: one object per invoice version, handed out through presigned GET URLs.

Key: {tenantId}/{invoiceId}/v{version}.pdf. A changed invoice has a new version, so a new key; an unchanged
invoice finds its object already there (head_object) and is not rendered again."""
import functools
import os
from typing import Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ..config import settings

URL_SECONDS = 3600


def bucket() -> str:
    return os.environ.get("BILLRUN_PDF_BUCKET") or f"{settings().table_prefix}-pdfs"


def client():
    return _new_client(os.environ.get("S3_ENDPOINT_URL") or None, settings().region)


def _new_client(endpoint: str | None, region: str):
    """SigV4 presigning (X-Amz-Expires); path-style addressing on a local endpoint (moto server)."""
    config = Config(signature_version="s3v4", s3={"addressing_style": "path" if endpoint else "auto"})
    return boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)


# Signing is local (no request is sent), so one signer per endpoint serves every presigned URL: a list of
# invoices presigns one URL per invoice, and building a client costs milliseconds.
_signer = functools.lru_cache(maxsize=4)(_new_client)


def key_for(tenant_id: str, invoice) -> str:
    return f"{tenant_id}/{invoice.id}/v{invoice.version}.pdf"


def ensure_bucket() -> str:
    """Creates the bucket when it is missing (tests, the local stack); on AWS the stack owns it."""
    name, s3 = bucket(), client()
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        region = settings().region
        options = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **options)
    return name


def exists(key: str, s3=None) -> bool:
    s3 = s3 or client()
    try:
        s3.head_object(Bucket=bucket(), Key=key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def ensure_pdf(key: str, render: Callable[[], bytes]) -> str:
    """Stores render() under key unless an object is already there; answers a presigned GET URL for it."""
    s3 = client()
    if not exists(key, s3):
        s3.put_object(Bucket=bucket(), Key=key, Body=render(), ContentType="application/pdf")
    return url(key)


def url(key: str) -> str:
    """A presigned GET URL, valid URL_SECONDS from now: signing is local, no request is made."""
    signer = _signer(os.environ.get("S3_ENDPOINT_URL") or None, settings().region)
    return signer.generate_presigned_url("get_object", Params={"Bucket": bucket(), "Key": key}, ExpiresIn=URL_SECONDS)
