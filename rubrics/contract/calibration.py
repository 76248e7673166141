"""The calibration block of a rubric: a sidecar file bound to the rubric's id, version and KB hash.

Why a sidecar and not a field of the rubric: the rubric file is compiled deterministically
(and may be the read-only bundled one), and runs record its SHA-256 to refuse resuming with
another file; measured agreement changes whenever people add labels. So the figures live in
the workspace beside it, ``calibration/<rubric id>-<version>-<KB hash prefix>.json``
(schema/calibration.schema.json), and are shown only with the rubric they were measured on.
"""
from __future__ import annotations

import json
from pathlib import Path

from rubricate.guidelines.kernel.errors import InputError, RubricFormatError
from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.kernel.safepath import confined, safe_name
from rubricate.guidelines.kernel.workspace import ws_path
from rubricate.rubrics.contract.validation import calibration_errors

BINDING = ("rubric_id", "rubric_version", "kb_sha256")


def binding(rubric_data: dict) -> dict[str, str | None]:
    """What a calibration is bound to: the rubric's id, version and knowledge-base hash."""
    return {"rubric_id": rubric_data.get("rubric_id"), "rubric_version": rubric_data.get("version"),
            "kb_sha256": (rubric_data.get("knowledge_base") or {}).get("sha256")}


def calibration_path(rubric_data: dict) -> Path:
    """The sidecar's default place in the workspace."""
    b = binding(rubric_data)
    name = (f"{safe_name(str(b['rubric_id']), 'rubric')}-{safe_name(str(b['rubric_version']), 'noversion')}-"
            f"{safe_name(str(b['kb_sha256'] or 'nokb'))[:12]}.json")
    return confined(ws_path("calibration"), name)  # ids are data: never a path out of the folder


def write_calibration(doc: dict, path: Path) -> Path:
    """Validate against the schema, then write atomically (a reader never sees half a file)."""
    errors = calibration_errors(doc)
    if errors:
        raise RubricFormatError(f"calibration does not follow its schema: {errors[0]}", path=str(path))
    atomic_write_text(Path(path), json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return Path(path)


def read_calibration(path: Path) -> dict:
    """A calibration file, checked against the schema (one-line error naming the file)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("calibration file not found", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
    errors = calibration_errors(doc) if isinstance(doc, dict) else ["$: not a JSON object"]
    if errors:
        raise RubricFormatError(f"not a calibration file: {errors[0]}", path=str(path))
    return doc


def mismatch(doc: dict, rubric_data: dict) -> str | None:
    """Why ``doc`` does not belong to this rubric (None when id, version and KB hash match)."""
    want = binding(rubric_data)
    diffs = [f"{k} {doc.get(k)!r} (rubric: {want[k]!r})" for k in BINDING if doc.get(k) != want[k]]
    return "calibration is for another rubric: " + ", ".join(diffs) if diffs else None


def find_calibration(rubric_data: dict, path: Path | None = None) -> tuple[dict | None, str | None]:
    """The calibration of this rubric and a note: ``path`` if given, else the workspace's sidecar.

    A file for another id, version or KB is not used (the note says why); a missing default
    sidecar is no error (the rubric is simply not calibrated).
    """
    target = Path(path) if path else calibration_path(rubric_data)
    if not target.is_file():
        if path:
            raise InputError("calibration file not found", path=str(path))
        return None, None
    doc = read_calibration(target)
    why = mismatch(doc, rubric_data)
    return (None, f"{target}: {why}; not shown") if why else (doc, None)
