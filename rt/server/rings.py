"""A single-producer single-consumer ring of fixed-size records over shared memory.

Layout inside a buffer (e.g. a :class:`multiprocessing.shared_memory.SharedMemory`)::

    int64 head      records written so far (only the producer writes it)
    int64 tail      records read so far (only the consumer writes it)
    int64 capacity  number of record slots
    int64 itemsize  bytes per record (checked when a process attaches)
    capacity records of a NumPy structured dtype

The producer fills slot ``head % capacity`` and then publishes it by storing ``head + 1``;
the consumer copies slot ``tail % capacity`` and then frees it by storing ``tail + 1``. Each
counter has one writer, and aligned 8-byte stores are atomic on x86-64 and ARM64, so neither
side takes a lock; a full ring refuses the record (the caller counts it). Records are plain
bytes: nothing is pickled.
"""

from __future__ import annotations

import numpy as np

from atomsynth.rt.errors import AtomsynthError

HEADER_BYTES = 32
(_HEAD, _TAIL, _CAP, _ITEM) = range(4)


def ring_bytes(dtype: np.dtype, capacity: int) -> int:
    """Bytes a ring of ``capacity`` records of ``dtype`` occupies (header included)."""
    return HEADER_BYTES + int(capacity) * np.dtype(dtype).itemsize


class Ring:
    """One SPSC ring of ``dtype`` records in ``buffer[offset:]`` (see the module).

    Parameters
    ----------
    buffer : buffer
        Shared memory (``SharedMemory.buf``) or any writable buffer.
    offset : int
        Byte offset of the ring's header in ``buffer`` (a multiple of 8).
    dtype : numpy.dtype
        The record type (fixed size).
    capacity : int or None
        Create (initialize) a ring of this many records; None attaches to an existing one and
        checks its record size.
    """

    def __init__(self, buffer, offset: int, dtype: np.dtype, capacity: int | None = None
                 ) -> None:
        self.dtype = np.dtype(dtype)
        self._hdr = np.ndarray((4,), np.int64, buffer=buffer, offset=offset)
        if capacity is not None:
            self._hdr[:] = (0, 0, int(capacity), self.dtype.itemsize)
        elif int(self._hdr[_ITEM]) != self.dtype.itemsize:
            raise AtomsynthError(f"shared ring at offset {offset}: record size "
                                 f"{int(self._hdr[_ITEM])} != {self.dtype.itemsize} (the server "
                                 "and this client are different versions)")
        self.capacity = int(self._hdr[_CAP])
        self._rec = np.ndarray((self.capacity,), self.dtype, buffer=buffer,
                               offset=offset + HEADER_BYTES)
        self.nbytes = ring_bytes(self.dtype, self.capacity)
        self._zero = np.zeros((), self.dtype)

    def __len__(self) -> int:
        return int(self._hdr[_HEAD] - self._hdr[_TAIL])

    def slot(self) -> np.void | None:
        """The free record the producer fills next (then :meth:`publish`), or None when full."""
        head = int(self._hdr[_HEAD])
        if head - int(self._hdr[_TAIL]) >= self.capacity:
            return None
        i = head % self.capacity
        self._rec[i] = self._zero
        return self._rec[i]

    def publish(self) -> None:
        """Make the record filled through :meth:`slot` visible to the consumer."""
        self._hdr[_HEAD] = self._hdr[_HEAD] + 1

    def push(self, record: np.ndarray) -> bool:
        """Copy one record in; False when the ring is full (nothing written)."""
        head = int(self._hdr[_HEAD])
        if head - int(self._hdr[_TAIL]) >= self.capacity:
            return False
        self._rec[head % self.capacity] = record
        self.publish()
        return True

    def pop(self) -> np.ndarray | None:
        """Copy the oldest record out (a 0-d array of ``dtype``), or None when empty."""
        tail = int(self._hdr[_TAIL])
        if tail >= int(self._hdr[_HEAD]):
            return None
        out = self._rec[tail % self.capacity].copy()
        self._hdr[_TAIL] = tail + 1
        return out

    def reset(self) -> None:
        """Empty the ring (only while neither side uses it)."""
        self._hdr[_HEAD] = 0
        self._hdr[_TAIL] = 0

    def release(self) -> None:
        """Drop the views of the shared buffer (so that it can be closed)."""
        self._hdr = None
        self._rec = None


__all__ = ["HEADER_BYTES", "Ring", "ring_bytes"]
