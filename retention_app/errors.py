"""The application's error type: services raise it, the API layer turns it into a 4xx."""


class ApplicationError(Exception):
    """``code`` is a stable machine-readable name (``not_enough_points``) that clients translate;
    ``message`` is for people reading logs and API responses."""

    def __init__(self, message: str, *, status: int = 400, code: str = "", extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                             409: "conflict"}.get(status, "error")
        self.extra = extra or {}
