"""The application's error type: services raise it, the API layer turns it into a 4xx."""


class ApplicationError(Exception):
    def __init__(self, message: str, *, status: int = 400, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra or {}
