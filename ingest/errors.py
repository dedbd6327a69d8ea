"""The small set of errors the core raises; each front end translates them once."""


class DutyDeskError(Exception):
    """Base error: carries a user-facing message and the HTTP status it maps to."""

    status_code = 500

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after  # seconds, for errors a client should retry later


class LoadError(DutyDeskError):
    """A document could not be read or understood (bad encoding, corrupt file, no text)."""

    status_code = 422


class IndexMissingError(DutyDeskError):
    """No index exists yet in the data dir."""

    status_code = 503


class IndexMismatchError(DutyDeskError):
    """The index was built by another embedder or format version; it must be re-ingested."""

    status_code = 503


class NotFoundError(DutyDeskError):
    """An id (clause, owner, document) the index has never seen."""

    status_code = 404


class InvalidRequestError(DutyDeskError):
    """The caller asked for something malformed."""

    status_code = 400


class DiskFullError(DutyDeskError):
    """The data dir's disk has no room for what must be written (the index in use stays as it was)."""

    status_code = 507


class BackendUnavailableError(DutyDeskError):
    """The embedder or the vector store failed; retrying later may work."""

    status_code = 503
