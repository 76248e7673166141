"""The one error type users see: its message is a single line naming the file and line/page."""
from __future__ import annotations


class RubricateError(Exception):
    """A problem with the user's input or data, reported as one line without a traceback."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 page: int | None = None) -> None:
        where = ""
        if path:
            where = str(path)
            if line is not None:
                where += f":{line}"
            if page is not None:
                where += f" (page {page})"
            where += ": "
        super().__init__(where + " ".join(str(message).split()))
        self.path, self.line, self.page = path, line, page
