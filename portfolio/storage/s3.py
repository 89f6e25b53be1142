"""S3 backend on boto3: any S3-compatible endpoint (AWS, MinIO, Ceph RGW, Garage, R2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from portfolio.storage import ObjectInfo, PresignedUpload, StorageError, check_key

if TYPE_CHECKING:
    from portfolio.config import Config

#: Multipart in 8 MiB parts, two threads: bounded memory whatever the file size.
TRANSFER = TransferConfig(
    multipart_threshold=8 * 1024 * 1024,
    multipart_chunksize=8 * 1024 * 1024,
    max_concurrency=2,
    use_threads=True,
)


def _content_disposition(filename: str, inline: bool) -> str:
    from urllib.parse import quote

    kind = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    ascii_name = ascii_name.replace('"', "").replace("\\", "")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class S3Storage:
    """Objects in one bucket of an S3-compatible service."""

    def __init__(self, client: Any, bucket: str, default_expiry: int = 300) -> None:
        self.client = client
        self.bucket = bucket
        self.default_expiry = default_expiry

    @classmethod
    def from_config(cls, cfg: Config) -> S3Storage:
        """Build the client from settings (endpoint, region, credentials, addressing style)."""
        client = boto3.client(
            "s3",
            endpoint_url=cfg.s3_endpoint_url,
            region_name=cfg.s3_region,
            aws_access_key_id=cfg.s3_access_key_id,
            aws_secret_access_key=cfg.s3_secret_access_key,
            config=BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": cfg.s3_addressing_style},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        return cls(client, cfg.s3_bucket, cfg.signed_url_seconds)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put(self, key: str, stream: IO[bytes], content_type: str) -> ObjectInfo:
        """Stream to the bucket; multipart above 8 MiB, so memory stays bounded."""
        check_key(key)
        counter = _CountingReader(stream)
        try:
            self.client.upload_fileobj(
                counter,
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=TRANSFER,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store the file: {exc}") from exc
        return ObjectInfo(key=key, size=counter.count, content_type=content_type)

    def open(self, key: str) -> IO[bytes]:
        """The object's body as a stream."""
        check_key(key)
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise KeyError(key) from exc
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc
        return obj["Body"]  # type: ignore[no-any-return]

    def iter_chunks(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """The body in chunks."""
        body = self.open(key)
        try:
            while chunk := body.read(chunk_size):
                yield chunk
        finally:
            body.close()

    def head(self, key: str) -> ObjectInfo | None:
        """HEAD the object."""
        check_key(key)
        try:
            meta = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc
        return ObjectInfo(
            key=key, size=int(meta["ContentLength"]), content_type=meta.get("ContentType")
        )

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        return self.head(key) is not None

    def delete(self, key: str) -> None:
        """Delete the object (S3 treats a missing key as success)."""
        check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(str(exc)) from exc

    def copy(self, source_key: str, target_key: str) -> None:
        """Server-side copy."""
        check_key(source_key)
        check_key(target_key)
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": source_key}, self.bucket, target_key, Config=TRANSFER
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                raise KeyError(source_key) from exc
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc

    def signed_download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        inline: bool = False,
        expires_in: int | None = None,
    ) -> str:
        """A presigned GET that forces the type and the disposition of the response."""
        check_key(key)
        return self.client.generate_presigned_url(  # type: ignore[no-any-return]
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": _content_disposition(filename, inline),
            },
            ExpiresIn=expires_in or self.default_expiry,
        )

    def presigned_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int | None = None
    ) -> PresignedUpload:
        """A presigned POST limited to one key, one type and `max_bytes` (the app re-checks
        size and type after the upload: not every S3 implementation enforces the policy)."""
        check_key(key)
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in or self.default_expiry,
        )
        return PresignedUpload(method="POST", url=post["url"], fields=post["fields"], headers={})


class _CountingReader:
    """Wraps a stream and counts the bytes read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data
