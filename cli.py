"""rubricate: one command line for guidelines, knowledge base, rubrics and evaluation.

Commands stay thin: each one parses options, calls the package that owns the job and
turns a ``RubricateError`` into a one-line message and a non-zero exit.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from guidelines.errors import RubricateError

ROOT = Path(__file__).resolve().parent


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RubricateError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="rubricate")
def main() -> None:
    """Turn therapy guidelines into traceable rubrics and score LLM responses with them."""


# ---- guidelines ---------------------------------------------------------------------------

REGISTRY_OPTION = click.option("--registry", type=click.Path(dir_okay=False, path_type=Path), default=None,
                               help="Registry YAML (default: the bundled guidelines/registry.yaml).")


@main.group()
def guidelines() -> None:
    """Source documents: list, show and register guideline files."""


@guidelines.command("list")
@REGISTRY_OPTION
def guidelines_list(registry: Path | None) -> None:
    """One line per registered document: id, year, kind, files."""
    from guidelines.registry import load_registry
    reg = load_registry(registry)
    for doc in reg.documents:
        roles = ",".join(sorted({f.role for f in doc.files})) or "-"
        click.echo(f"{doc.id}\t{doc.year or '-'}\t{doc.kind}\t{roles}\t{doc.title}")


@guidelines.command("show")
@click.argument("doc_id")
@REGISTRY_OPTION
def guidelines_show(doc_id: str, registry: Path | None) -> None:
    """Everything the registry knows about one document, with each file's state."""
    from guidelines.registry import load_registry, sha256_file
    reg = load_registry(registry)
    doc = reg.get(doc_id)
    for key in ("id", "title", "creators", "publisher", "year", "edition", "kind", "conditions",
                "url", "url_verified", "pdf_url", "licence"):
        value = getattr(doc, key)
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        click.echo(f"{key + ':':14} {value if value not in (None, '') else '-'}")
    for f in doc.files:
        path = reg.resolve(f)
        if not path.exists():
            state = "MISSING"
        elif f.sha256 and sha256_file(path) != f.sha256:
            state = "CHANGED since registration"
        else:
            state = "ok"
        click.echo(f"{'file:':14} {f.path} [{f.role}] {state}")


# ---- knowledge base -----------------------------------------------------------------------

KB_OPTION = click.option("--kb", "kb_path", type=click.Path(path_type=Path), default=None,
                         help="Built knowledge base (kb.ttl or its folder; default build/kb). "
                              "Built in memory when absent.")


def _kb_graph(kb_path: Path | None):
    """The KB the user named, else build/kb, else a fresh in-memory build."""
    from ontology.store import DEFAULT_KB_DIR, load_kb
    if kb_path is not None:
        return load_kb(kb_path)
    if (DEFAULT_KB_DIR / "kb.ttl").exists():
        return load_kb(DEFAULT_KB_DIR)
    click.echo("note: no build/kb/kb.ttl; building the knowledge base in memory", err=True)
    from ontology.pipeline import build
    return build().graph


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build/kb"),
              show_default=True, help="Folder for kb.ttl, kb.jsonld and build-report.json.")
@REGISTRY_OPTION
@click.option("--decisions", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Reviewer decisions log (default: guidelines/reviews/decisions.jsonl if present).")
@click.option("--workers", type=int, default=None, help="Parallel document parsers (default: CPUs).")
def build(out: Path, registry: Path | None, decisions: Path | None, workers: int | None) -> None:
    """Build the knowledge base from the registry, texts and the mapping review; validate it."""
    from ontology.pipeline import build as run_build, report_lines
    result = run_build(registry=registry, decisions=decisions, workers=workers, out=out)
    for line in report_lines(result):
        click.echo(line, err=line.startswith(("error", "warning", "violation")))
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("kb_file", type=click.Path(path_type=Path))
def validate(kb_file: Path) -> None:
    """Check a built knowledge base against the SHACL shapes."""
    from ontology.store import load_kb
    from ontology.validate import validate_graph
    v = validate_graph(load_kb(kb_file))
    for line in v.violations:
        click.echo(f"violation: {line}", err=True)
    if not v.conforms:
        click.echo(f"{kb_file}: does not conform ({len(v.violations)} violations)", err=True)
        sys.exit(1)
    click.echo(f"{kb_file}: conforms")


@main.command()
@click.argument("sparql")
@KB_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def query(sparql: str, kb_path: Path | None, fmt: str) -> None:
    """Run a SPARQL SELECT on the knowledge base (prefixes rbc, oa, prov, dcterms, skos bound)."""
    from ontology.query import run_select, render
    header, rows = run_select(_kb_graph(kb_path), sparql)
    click.echo(render(header, rows, fmt), nl=False)


@main.command()
@KB_OPTION
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv"]), default="markdown", show_default=True)
def table(kb_path: Path | None, fmt: str) -> None:
    """The mapping-review table: one row per document, one column per feature."""
    from ontology.table import table_rows, to_csv, to_markdown
    header, rows = table_rows(_kb_graph(kb_path))
    click.echo(to_csv(header, rows) if fmt == "csv" else to_markdown(header, rows), nl=False)


# ---- extraction and review ----------------------------------------------------------------


# ---- compiler and exports -----------------------------------------------------------------


# ---- evaluation, trace, report, run -------------------------------------------------------


# ---- LLM judge, respond, stigma ------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(main())
