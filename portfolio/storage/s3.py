"""S3 backend on boto3: any S3-compatible endpoint (AWS, MinIO, Ceph RGW, Garage, R2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from portfolio.storage import (
    ObjectInfo,
    PresignedUpload,
    StorageError,
    UploadedPart,
    check_key,
)

if TYPE_CHECKING:
    from portfolio.config import Config

#: Multipart in 8 MiB parts, two threads: bounded memory whatever the file size.
TRANSFER = TransferConfig(
    multipart_threshold=8 * 1024 * 1024,
    multipart_chunksize=8 * 1024 * 1024,
    max_concurrency=2,
    use_threads=True,
)
#: Parts of a non-seekable stream (an upload being streamed through the app) waiting in memory:
#: with two in flight this bounds the buffer to about 4 x 8 MiB (s3transfer's default is 10).
TRANSFER.max_in_memory_upload_chunks = 2


def content_disposition(filename: str, inline: bool) -> str:
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
                connect_timeout=cfg.s3_timeout_seconds,
                read_timeout=cfg.s3_timeout_seconds,
                retries={"max_attempts": cfg.s3_max_attempts, "mode": "standard"},
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

    def iter_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """A ranged GET, in chunks."""
        check_key(key)
        try:
            body = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}"
            )["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise KeyError(key) from exc
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc
        try:
            while chunk := body.read(1024 * 1024):
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

    def list_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """ListObjectsV2 over the bucket (or `prefix`), following pagination."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        key=str(obj["Key"]),
                        size=int(obj.get("Size", 0)),
                        last_modified=obj.get("LastModified"),
                    )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(str(exc)) from exc

    def list_multipart_uploads(self) -> Iterator[tuple[str, str, datetime | None]]:
        """ListMultipartUploads, following pagination."""
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket)
            for page in pages:
                for upload in page.get("Uploads", []):
                    yield str(upload["Key"]), str(upload["UploadId"]), upload.get("Initiated")
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
        """A presigned GET that forces the stored type and `attachment`, whatever `inline`
        says: a response from the bucket carries neither `nosniff` nor a sandbox CSP, so the
        browser must save it, never render it on the bucket's origin. Inline previews are
        served through the application instead (`portfolio.storage.serving`)."""
        check_key(key)
        inline = False
        return self.client.generate_presigned_url(  # type: ignore[no-any-return]
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(filename, inline),
            },
            ExpiresIn=expires_in or self.default_expiry,
        )

    def presigned_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int | None = None
    ) -> PresignedUpload:
        """A presigned PUT of one key with one content type.

        A PUT (not a POST policy) because browsers need the ETag it answers with, and S3
        implementations differ in what a POST answers. Neither form is trusted for size: the
        app re-checks size and type after the upload (moto enforces no conditions at all)."""
        check_key(key)
        url = self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in or self.default_expiry,
        )
        return PresignedUpload(
            method="PUT", url=url, fields={}, headers={"Content-Type": content_type}
        )

    # -- multipart ------------------------------------------------------------------------
    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        """CreateMultipartUpload; returns the upload id."""
        check_key(key)
        try:
            resp = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(str(exc)) from exc
        return str(resp["UploadId"])

    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        max_bytes: int | None = None,
        expires_in: int | None = None,
    ) -> str:
        """A presigned UploadPart URL (the browser PUTs the part and reads the ETag header).
        `max_bytes` is not enforceable here (part sizes vary); finalize checks the whole."""
        check_key(key)
        return self.client.generate_presigned_url(  # type: ignore[no-any-return]
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": part_number,
            },
            ExpiresIn=expires_in or self.default_expiry,
        )

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """ListParts, following pagination."""
        check_key(key)
        parts: list[UploadedPart] = []
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
        try:
            while True:
                resp = self.client.list_parts(**kwargs)
                parts.extend(
                    UploadedPart(int(p["PartNumber"]), str(p["ETag"]), int(p.get("Size", 0)))
                    for p in resp.get("Parts", [])
                )
                if not resp.get("IsTruncated"):
                    return parts
                kwargs["PartNumberMarker"] = resp["NextPartNumberMarker"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                raise KeyError(upload_id) from exc
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[UploadedPart]
    ) -> None:
        """CompleteMultipartUpload with the parts sorted by number."""
        check_key(key)
        ordered = sorted(parts, key=lambda p: p.part_number)
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in ordered]
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                raise KeyError(upload_id) from exc
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an unknown upload id is not an error."""
        check_key(key)
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchUpload", "404"}:
                return
            raise StorageError(str(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(str(exc)) from exc

    def apply_cors(self, origins: list[str]) -> None:
        """Allow browsers on `origins` to upload straight to the bucket (PUT/POST, ETag read)."""
        try:
            self.client.put_bucket_cors(
                Bucket=self.bucket,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedOrigins": origins,
                            "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                            "AllowedHeaders": ["*"],
                            "ExposeHeaders": ["ETag"],
                            "MaxAgeSeconds": 3000,
                        }
                    ]
                },
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(str(exc)) from exc


class _CountingReader:
    """Wraps a stream and counts the bytes read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data
