"""The S3 bucket for invoice PDFs: private, encrypted, TLS only, versioned, with a lifecycle.

S3 names are global, so the bucket is <prefix>-pdfs-<account id>; every function gets it as BILLRUN_PDF_BUCKET.
Keys are {tenant}/{invoice}/v{version}.pdf, written once per invoice version and read through presigned URLs.
Lifecycle: current PDFs are kept (they are the invoices as issued; the bucket is retained when the stack is
deleted); a PDF overwritten or deleted stays recoverable as a noncurrent version for 365 days, then expires;
multipart uploads left incomplete are aborted after 7 days."""
from .stages import Stage

NONCURRENT_DAYS = 365
INCOMPLETE_UPLOAD_DAYS = 7


def resources(stage: Stage) -> dict:
    arn = {"Fn::GetAtt": ["PdfBucket", "Arn"]}
    return {
        "PdfBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                      "Properties": {
            "BucketName": {"Fn::Sub": f"{stage.prefix}-pdfs-${{AWS::AccountId}}"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {"Rules": [
                {"Id": "ExpireNoncurrentPdfs", "Status": "Enabled",
                 "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS}},
                {"Id": "AbortIncompleteUploads", "Status": "Enabled",
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS}},
            ]},
        }},
        "PdfBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "PdfBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [arn, {"Fn::Sub": "${PdfBucket.Arn}/*"}],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]},
        }},
    }
