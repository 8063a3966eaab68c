"""A zip file written as a stream, for the XLSX writer: members whose data is already
deflated (raw DEFLATE, ``zlib.compressobj(wbits=-15)``) with its CRC-32 and sizes
known, laid out one after the other, then the central directory. Zip64 records are
written where a size or an offset does not fit in 32 bits (a sheet of a million rows
of large cells can pass 4 GiB), so that any zip reader opens it.

Also the two pieces of arithmetic that let a member be deflated in parts made at
different times: raw DEFLATE streams ended by a sync flush (not the last) followed by
one ended by a finish are one valid stream, and ``crc32_combine`` gives the CRC-32 of
two pieces from theirs (as zlib's function of that name, which Python does not
expose)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
# Version 4.5 (zip64) needed and made by; "made by" Unix, as Python's zipfile writes.
_ZIP64_VERSION = 45
_VERSION = 20
_MADE_BY = (3 << 8) | _ZIP64_VERSION
_FILE_MODE = 0o600 << 16 | 0o100000 << 16  # a regular file, rw for its owner
_DOS_TIME, _DOS_DATE = 0, (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01 00:00 as xlsxwriter


@dataclass(frozen=True)
class Member:
    name: str
    crc: int
    size: int  # uncompressed
    compressed: int
    offset: int  # of its local header in the file


def local_header(name: str, crc: int, size: int, compressed: int) -> bytes:
    """The local file header of a deflated member (sizes known up front)."""
    encoded = name.encode()
    big = size >= _U32 or compressed >= _U32
    extra = struct.pack("<HHQQ", 1, 16, size, compressed) if big else b""
    return struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, _ZIP64_VERSION if big else _VERSION, 0, 8, _DOS_TIME,
        _DOS_DATE, crc, _U32 if big else compressed, _U32 if big else size, len(encoded),
        len(extra)) + encoded + extra


def central_directory(members: list[Member], offset: int) -> bytes:
    """The central directory of ``members``, written at ``offset``, and the end
    records (zip64 ones too when needed)."""
    entries = []
    for m in members:
        encoded = m.name.encode()
        values = [v for v in (m.size, m.compressed, m.offset) if v >= _U32]
        big_size = m.size >= _U32 or m.compressed >= _U32
        fields = ([m.size, m.compressed] if big_size else []) + (
            [m.offset] if m.offset >= _U32 else [])
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if values else b""
        entries.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY,
            _ZIP64_VERSION if values else _VERSION, 0, 8, _DOS_TIME, _DOS_DATE, m.crc,
            _U32 if big_size else m.compressed, _U32 if big_size else m.size,
            len(encoded), len(extra), 0, 0, 0, _FILE_MODE,
            _U32 if m.offset >= _U32 else m.offset) + encoded + extra)
    directory = b"".join(entries)
    count, size = len(members), len(directory)
    end = b""
    if count >= _U16 or size >= _U32 or offset >= _U32:
        zip64_end = offset + size
        end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY, _ZIP64_VERSION, 0, 0,
                          count, count, size, offset)
        end += struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
    end += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, _U16), min(count, _U16),
                       min(size, _U32), min(offset, _U32), 0)
    return directory + end


def deflate_whole(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def deflate_part(data: bytes, level: int) -> bytes:
    """``data`` as raw DEFLATE that more DEFLATE data may follow (ended by a sync flush)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    row = 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from CRC-32(A), CRC-32(B) and len(B) (zlib's crc32_combine:
    ``crc1`` run through ``length2`` zero bytes by squaring the one-zero-bit operator)."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)  # each round: the operator for the next bit of length2
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2
