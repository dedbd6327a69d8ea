"""The small set of errors the core raises; each front end translates them once."""


class DutyDeskError(Exception):
    """Base error: carries a user-facing message and the HTTP status it maps to."""

    status_code = 500

    def __init_subclass__(cls, status: int | None = None, **kwargs: object) -> None:
        """`class NotFoundError(DutyDeskError, status=404)`: each error names its status where it is defined."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after  # seconds, for errors a client should retry later


class LoadError(DutyDeskError, status=422):
    """A document could not be read or understood (bad encoding, corrupt file, no text)."""


class IndexMissingError(DutyDeskError, status=503):
    """No index exists yet in the data dir."""


class IndexMismatchError(DutyDeskError, status=503):
    """The index was built by another embedder or format version; it must be re-ingested."""


class NotFoundError(DutyDeskError, status=404):
    """An id (clause, owner, document) the index has never seen."""


class InvalidRequestError(DutyDeskError, status=400):
    """The caller asked for something malformed."""


class DiskFullError(DutyDeskError, status=507):
    """The data dir's disk has no room for what must be written (the index in use stays as it was)."""


class BackendUnavailableError(DutyDeskError, status=503):
    """The embedder or the vector store failed; retrying later may work."""
