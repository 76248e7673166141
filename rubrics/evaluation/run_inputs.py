"""Find the rubric and responses file a results folder was made from, and say if they changed.

Why: verdicts hold no response text (it stays in the responses file, addressed by line) and
only criterion/passage ids (the full texts live in the rubric). A report must therefore reopen
both files; if one moved or its SHA-256 differs from the one recorded in run.json, the report
still renders what it can and says so plainly instead of silently showing other text.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import sha256_file
from rubricate.guidelines.kernel.workspace import resolve_location


@dataclass
class SourceFile:
    """One input of the run: where run.json said it was, where it is now, and whether it changed."""

    role: str                       # "rubric" | "responses"
    recorded_path: str | None
    recorded_sha256: str | None
    path: Path | None = None        # the file actually read (None: not found)
    sha256: str | None = None
    shown: str | None = None        # how reports name it: as recorded or as given, never resolved

    @property
    def name(self) -> str | None:
        return self.shown or self.recorded_path

    @property
    def changed(self) -> bool:
        return bool(self.path and self.recorded_sha256 and self.sha256 != self.recorded_sha256)

    def warning(self, consequence_missing: str, consequence_changed: str) -> str | None:
        """A one-line, plain statement of the problem (None when the file is as recorded)."""
        if self.path is None:
            where = self.recorded_path or "(no path recorded in run.json)"
            return f"{self.role} file not found: {where} (moved or deleted?); {consequence_missing}"
        if self.changed:
            return (f"{self.role} file changed since the run: {self.name} has SHA-256 {self.sha256[:12]}…, "
                    f"run.json recorded {self.recorded_sha256[:12]}…; {consequence_changed}")
        return None


def locate(role: str, recorded_path: str | None, recorded_sha256: str | None, results_dir: Path,
           override: Path | str | None = None) -> SourceFile:
    """Resolve a recorded (possibly relative) path; an explicit ``override`` wins."""
    src = SourceFile(role, recorded_path, recorded_sha256)
    candidates: list[Path] = []
    if override is not None:
        candidates.append(Path(override))
        src.shown = str(override)
    elif recorded_path:
        try:
            candidates.append(resolve_location(recorded_path, results_dir))
        except RubricateError:  # ${RUBRICATE_SOURCES}/... with the variable unset: reported as not found
            pass
        p = Path(recorded_path)
        if not p.is_absolute():  # runs recorded before locations were relative to the results folder
            candidates += [Path.cwd() / p, results_dir.parent / p]
    for c in candidates:
        if c.is_file():
            src.path = c.resolve()
            src.sha256 = sha256_file(c)
            break
    return src
