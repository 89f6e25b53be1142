"""Reading upload request bodies as streams, so memory stays constant whatever the file size.

Werkzeug's form parser would spool the whole file before the view runs. Here the body is read
from `request.stream` in chunks: a raw body is passed through as is, and a `multipart/form-data`
body is decoded incrementally with Werkzeug's sans-IO decoder, yielding the small fields that
come before the file and then the file's bytes as a readable stream.
"""

from __future__ import annotations

from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from portfolio.core.errors import DomainError

CHUNK = 256 * 1024
#: Text fields of the upload form are short; anything bigger is not our form.
MAX_FIELD_BYTES = 64 * 1024


class FullReader:
    """`read(n)` returns exactly `n` bytes unless the stream ends (socket streams may return
    less, and S3 multipart needs full-sized parts)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._stream.read()
        parts: list[bytes] = []
        remaining = size
        while remaining > 0:
            data = self._stream.read(remaining)
            if not data:
                break
            parts.append(data)
            remaining -= len(data)
        return b"".join(parts)


class MultipartFileStream:
    """Decode a multipart body lazily: fields first (`read_fields`), then the first file."""

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self._stream = stream
        # The decoder's limit bounds its buffer (one chunk plus leftovers); field sizes are
        # checked in `read_fields`.
        self._decoder = MultipartDecoder(
            boundary, max_form_memory_size=2 * CHUNK + MAX_FIELD_BYTES, max_parts=50
        )
        self._pending = bytearray()
        self._file_done = False
        self._eof = False
        self.filename: str | None = None

    def _next_event(self) -> object:
        while True:
            event = self._decoder.next_event()
            if isinstance(event, NeedData):
                if self._eof:
                    raise DomainError("The upload was cut off before it finished.")
                chunk = self._stream.read(CHUNK)
                self._eof = not chunk
                self._decoder.receive_data(chunk or None)
                continue
            return event

    def read_fields(self) -> dict[str, str]:
        """The form fields that precede the file; stops at the file (or the end)."""
        fields: dict[str, str] = {}
        name: str | None = None
        buf = bytearray()
        while True:
            event = self._next_event()
            if isinstance(event, Field):
                name, buf = event.name, bytearray()
            elif isinstance(event, File):
                self.filename = event.filename or ""
                return fields
            elif isinstance(event, Data):
                buf += event.data
                if len(buf) > MAX_FIELD_BYTES:
                    raise DomainError("A form field was too long.")
                if not event.more_data and name is not None:
                    fields[name] = buf.decode("utf-8", "replace")
            elif isinstance(event, Epilogue):
                self._file_done = True
                return fields

    def read(self, size: int = -1) -> bytes:
        """The file's bytes; `read(n)` returns `n` bytes unless the file ends."""
        want = size if size is not None and size >= 0 else 1 << 62
        while len(self._pending) < want and not self._file_done:
            event = self._next_event()
            if isinstance(event, Data):
                self._pending += event.data
                if not event.more_data:
                    self._file_done = True
            else:
                self._file_done = True
        out = bytes(self._pending[:want])
        del self._pending[:want]
        return out
