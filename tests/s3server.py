"""A real S3-protocol server for tests and benchmarks: moto's stand-alone server on a free port."""

from __future__ import annotations

import uuid

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    """moto's server in a thread of this process; `bucket` exists, `env` points triage at it."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.bucket = f"triage-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=self.bucket)
        self.env = {**AWS_ENV, "TRIAGE_S3_BUCKET": self.bucket, "TRIAGE_S3_ENDPOINT_URL": self.endpoint}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def storages(self) -> dict:
        """settings.STORAGES as triage.settings makes it with self.env set."""
        return {"default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
                    "bucket_name": self.bucket, "endpoint_url": self.endpoint, "addressing_style": "path",
                    "file_overwrite": True, "max_memory_size": 8 * 1024 * 1024, "default_acl": None,
                    "transfer_config": self.transfer_config()}},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

    @staticmethod
    def transfer_config():
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_chunksize=16 * 1024 * 1024, max_concurrency=4)

    def stop(self) -> None:
        self.server.stop()


def start_s3() -> S3Server:
    """The server, or an exception saying why it cannot start (callers skip with it)."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
        import storages  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"moto[server], boto3 and django-storages are needed: {exc}") from exc
    return S3Server()
