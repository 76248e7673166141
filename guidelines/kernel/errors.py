"""The errors users see: one line naming the file and line/page, under one base class.

``RubricateError`` is what the CLI catches (printed as ``error: <message>``, exit 2). Its
subclasses say whose problem it is, so a caller can react to one kind without parsing text:

- ``InputError``: a user's data file (responses, guideline files, JSONL/YAML/CSV inputs) is
  missing, unreadable or malformed;
- ``RubricFormatError``: a rubric (or its checks) does not follow the published contract;
- ``ConfigurationError``: options, settings or environment are wrong or incomplete (endpoint
  settings, a missing API key variable, an unknown protocol);
- ``EndpointError``: the OpenAI-compatible endpoint could not be used (every call failed).
"""
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


class InputError(RubricateError):
    """A user's input file is missing, unreadable or malformed."""


class RubricFormatError(RubricateError):
    """A rubric or its checks break the rubric contract (rubrics/contract/schema)."""


class ConfigurationError(RubricateError):
    """Options, settings or environment variables are wrong or incomplete."""


class EndpointError(RubricateError):
    """The LLM endpoint could not be used: every call to it failed."""
