"""Reading IDX files (the MNIST format), gzip-compressed or not, with their header checked against the data.

An IDX file starts with a magic number: two zero bytes, a type code (0x08 for unsigned bytes, the only
type these datasets use) and the number of dimensions; then each dimension as a big-endian uint32; then
the values in C order.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import torch
from torch import Tensor

from sscl_plugin_datasets.errors import FileFormatError

UNSIGNED_BYTE = 0x08
"""The IDX type code of unsigned 8-bit values."""


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise FileFormatError(f"not a complete gzip file ({error})") from None


def read_idx(path: Path, dimensions: int) -> Tensor:
    """The uint8 array stored in the IDX file ``path`` (``.gz`` names are decompressed), which must have
    ``dimensions`` dimensions; a wrong magic number or a size that disagrees with the header raises
    FileFormatError."""
    raw = _read_bytes(path)
    header_size = 4 + 4 * dimensions
    if len(raw) < header_size:
        raise FileFormatError(f"only {len(raw)} bytes, too short for an IDX header of {header_size} bytes")
    expected_magic = bytes((0, 0, UNSIGNED_BYTE, dimensions))
    if raw[:4] != expected_magic:
        raise FileFormatError(
            f"IDX magic number is 0x{raw[:4].hex()}, expected 0x{expected_magic.hex()} "
            f"(unsigned bytes, {dimensions} dimensions): not the right IDX file"
        )
    shape = struct.unpack(f">{dimensions}I", raw[4:header_size])
    expected_size = header_size + math.prod(shape)
    if len(raw) != expected_size:
        raise FileFormatError(
            f"{len(raw)} bytes, but its header announces shape {shape}, i.e. {expected_size} bytes: "
            "the file is truncated or corrupt"
        )
    values = torch.frombuffer(bytearray(memoryview(raw)[header_size:]), dtype=torch.uint8)
    return values.view(shape)
