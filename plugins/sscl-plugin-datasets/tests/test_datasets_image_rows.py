"""CachedRows: rows of a uint8 file read with os.pread, indexed like the tensor of the same bytes."""

from __future__ import annotations

import numpy
import pytest
import torch

from sscl_core import SsclError
from sscl_core.api.samples import take
from sscl_plugin_datasets.image_rows import CachedRows, RowFile


@pytest.fixture
def stored(tmp_path):
    """(rows over a file of 10 random 2x3x4 images, the same images as a tensor)."""
    images = torch.randint(0, 256, (10, 2, 3, 4), generator=torch.Generator().manual_seed(0)).to(torch.uint8)
    path = tmp_path / "rows.u8"
    images.numpy().tofile(path)
    return CachedRows(RowFile(path, (2, 3, 4)), numpy.arange(10, dtype=numpy.int64)), images


@pytest.mark.parametrize(
    "key",
    [3, -1, slice(2, 7), slice(None), slice(8, 20), slice(0, 10, 3), [4, 1, 1, 9], torch.tensor([5, 0, 5, 6, 7, 2])],
    ids=["int", "negative", "slice", "all", "past-the-end", "step", "list", "tensor-with-repeats"],
)
def test_indexing_reads_the_rows_a_tensor_would_give(stored, key):
    rows, images = stored
    read = rows[key]
    assert read.dtype == torch.uint8 and read.is_contiguous() and torch.equal(read, images[key])


def test_masks_subsets_and_the_cores_take_read_the_same_bytes(stored):
    rows, images = stored
    mask = torch.tensor([True, False] * 5)
    assert torch.equal(rows[mask], images[mask])
    assert rows.shape == images.shape and len(rows) == 10 and rows.dim() == 4 and rows.dtype == torch.uint8
    part = rows.subset(torch.tensor([9, 3, 4, 8]))
    assert part.shape == (4, 2, 3, 4) and torch.equal(part[1:3], images[[3, 4]])
    index = torch.tensor([3, 0, 0, 2])
    assert torch.equal(take(part, index), images[[9, 3, 4, 8]][index])
    assert rows[torch.zeros(0, dtype=torch.long)].shape == (0, 2, 3, 4) and len(rows.subset(slice(10, None))) == 0


def test_a_truncated_file_is_one_line(stored):
    rows, _images = stored
    path = rows._file.path
    path.write_bytes(path.read_bytes()[: 24 * 7])
    shorter = CachedRows(RowFile(path, (2, 3, 4)), numpy.arange(10, dtype=numpy.int64))
    with pytest.raises(SsclError, match="ends before row 9; delete") as error:
        shorter[[1, 8]]
    assert "\n" not in str(error.value)
