"""Stored JSON made small: raw DEFLATE (zlib) with a preset dictionary of the text every stored
value repeats — the rules' citations and quotes, the field and type names (``dictionary``).

A stored value is either as it was written before compression (JSON: its first byte is never
NUL) or ``MARK FORMAT id deflated``: ``MARK`` a NUL byte, ``FORMAT`` one byte (1: raw DEFLATE
with a preset dictionary), ``id`` the first eight bytes of the dictionary's SHA-256, then the
DEFLATE stream (RFC 1951, a 32 KiB window). The dictionaries themselves are kept in the store
that holds values compressed with them (``shared.compression.tables`` for the services' event
stores, the read side's own table), never deleted: any value can be read back with the store
alone, whatever the code that wrote it. A value that compression would not make smaller is
stored as it is.

Why a dictionary: the events are small (0.3–3 KB) and each repeats some hundreds of bytes of
rule text; plain zlib halves them, a dictionary of that text quarters them
(docs/performance.md)."""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Callable, Iterable

from eventsourcing.persistence import Compressor

MARK = b"\x00"
FORMAT = b"\x01"
ID_BYTES = 8
HEADER = len(MARK) + len(FORMAT) + ID_BYTES
WINDOW = 32 * 1024  # DEFLATE reaches back this far: a longer dictionary's start is unused
LEVEL = 6


class UnknownDictionaryError(LookupError):
    """A value compressed with a dictionary its store does not hold."""


def dictionary_id(dictionary: bytes) -> bytes:
    return hashlib.sha256(dictionary).digest()[:ID_BYTES]


class Dictionaries:
    """Dictionaries read from a store, by id (the hash of their content)."""

    def __init__(self) -> None:
        self._by_id: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def remember(self, dictionary: bytes) -> bytes:
        key = dictionary_id(dictionary)
        with self._lock:
            self._by_id[key] = dictionary
        return key

    def get(self, key: bytes) -> bytes | None:
        return self._by_id.get(key)


def compress(data: bytes, dictionary: bytes, key: bytes) -> bytes:
    """``data`` in the stored form above (as it is, when that is no larger)."""
    deflate = _primed(dictionary, key).copy()
    packed = MARK + FORMAT + key + deflate.compress(data) + deflate.flush()
    return packed if len(packed) < len(data) else data


# A compressor primed with each dictionary, copied for each value: priming hashes the whole
# dictionary (about 65 µs of the 90 a value took), a copy of the primed state takes a few
# (measured in docs/performance.md); the stream is the same. By id: an id is its content's.
_PRIMED: dict[bytes, zlib._Compress] = {}
_PRIMING = threading.Lock()


def _primed(dictionary: bytes, key: bytes) -> zlib._Compress:
    primed = _PRIMED.get(key)
    if primed is None:
        if key != dictionary_id(dictionary):  # cached by id: a wrong one would mix them up
            raise ValueError("the key is not this dictionary's id")
        with _PRIMING:
            primed = _PRIMED.get(key)
            if primed is None:
                primed = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, zdict=dictionary)
                _PRIMED[key] = primed
    return primed


def decompress(data: bytes, find: Callable[[bytes], bytes | None]) -> bytes:
    """The value ``compress`` was given; a value stored before compression as it is."""
    if data[:1] != MARK:
        return bytes(data)
    if data[1:2] != FORMAT:
        raise ValueError(f"stored value in an unknown compressed format {data[1:2]!r}")
    key = bytes(data[2:HEADER])
    dictionary = find(key)
    if dictionary is None:
        raise UnknownDictionaryError(f"no compression dictionary {key.hex()} in this store")
    inflate = zlib.decompressobj(-15, zdict=dictionary)
    plain = inflate.decompress(data[HEADER:]) + inflate.flush()
    if not inflate.eof:
        raise ValueError("stored value's compressed stream is cut short")
    if inflate.unused_data:
        raise ValueError("stored value has bytes after its compressed stream")
    return plain


class DictionaryCompressor(Compressor):
    """The event store's compressor (``eventsourcing``'s mapper calls it for each event's
    state): compresses with the current dictionary once ``use`` has given one, and reads with
    the dictionaries of its own store alone (asking it again for one another process added)."""

    def __init__(self) -> None:
        self._known = Dictionaries()
        self._dictionary: bytes | None = None
        self._key = b""
        self._reload: Callable[[], Iterable[bytes]] = tuple

    def use(self, dictionary: bytes | None, stored: Callable[[], Iterable[bytes]]) -> None:
        """Compress with ``dictionary`` from now on (None: store values as they are);
        ``stored`` lists the store's own dictionaries, read now and when one is missing."""
        self._reload = stored
        for known in stored():
            self._known.remember(known)
        if dictionary is not None:
            self._key = self._known.remember(dictionary)
        self._dictionary = dictionary

    def compress(self, data: bytes) -> bytes:
        if self._dictionary is None:  # none given: stored as it is, still readable
            return data
        return compress(data, self._dictionary, self._key)

    def decompress(self, data: bytes) -> bytes:
        return decompress(data, self._find)

    def _find(self, key: bytes) -> bytes | None:
        if (found := self._known.get(key)) is None:
            for known in self._reload():  # written by a newer process since we started
                self._known.remember(known)
            found = self._known.get(key)
        return found
