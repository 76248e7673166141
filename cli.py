"""rubricate: one command line for guidelines, knowledge base, rubrics and evaluation.

Commands stay thin: each one parses options, calls the package that owns the job and
turns a ``RubricateError`` into a one-line message and a non-zero exit.
"""
from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.textsafe import terminal_safe

# deferred imports: start-up time. Each command imports the packages that do its job when it
# runs, so `rubricate --help` and every other command load only what they use.

ROOT = Path(__file__).resolve().parent


def echo(message: object = "", **kw) -> None:
    """click.echo for everything a command prints: text from data (responses, model names,
    ids, a server's messages) may hold terminal escapes or bidi overrides, so those are
    shown escaped (\\u001b), and no registered secret is printed."""
    from rubricate.guidelines.kernel.redaction import redact
    click.echo(terminal_safe(redact(message if isinstance(message, str) else str(message))), **kw)


EXIT_FAILED = 1  # the command ran but what it was for failed (nothing judged, too many failed calls)
EXIT_USAGE = 2  # bad options or input, said in one line before any work
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit code 2, and Ctrl-C
    into one line saying what was kept (exit 130), never a traceback."""

    def invoke(self, ctx: click.Context):
        with _notes_to_stderr():
            try:
                return self._invoke_reporting(ctx)
            finally:  # the work is over: a Ctrl-C now must not turn a finished run into a traceback
                if _PROGRAM["running"]:
                    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _invoke_reporting(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RubricateError as exc:
            echo(f"error: {terminal_safe(str(exc), keep_newlines=False)}", err=True)
            ctx.exit(EXIT_USAGE)
        except OSError as exc:  # a full disk, a read-only or vanished folder: one line, no traceback
            where = f"{exc.filename}: " if exc.filename else ""
            echo(f"error: {where}{exc.strerror or exc} (what was already written is intact; "
                 "free space and re-run, with --resume where the command has it)", err=True)
            ctx.exit(EXIT_USAGE)
        except click.UsageError as exc:  # a bad option or a missing file: one line, before any work
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
            echo(f"error: {exc.format_message()}{where}", err=True)
            ctx.exit(EXIT_USAGE)
        except (KeyboardInterrupt, click.exceptions.Abort):
            note = ctx.meta.get("on_interrupt")
            echo("\n" + (note() if note else "interrupted; nothing was written"), err=True)
            if _PROGRAM["running"]:
                # a Ctrl-C during an import leaves half-built objects whose finalizers fail at
                # exit ("Exception ignored in: <function Forward.__del__ ...>" from pyparsing):
                # the interrupt is reported, so their noise is not
                sys.unraisablehook = lambda unraisable: None
            ctx.exit(EXIT_INTERRUPTED)


# True when this process is the `rubricate` program (not a test calling main in-process):
# only then may the CLI take over the process's SIGINT handling at the end of a command.
_PROGRAM = {"running": False}


def program() -> None:
    """The `rubricate` program (console script and `python -m rubricate`)."""
    _PROGRAM["running"] = True
    sys.exit(main(prog_name="rubricate"))


@contextmanager
def _notes_to_stderr() -> Iterator[None]:
    """Warnings of the LLM layer (a parameter dropped for a model, ...) as 'note:' lines on
    stderr for the length of one invocation. The handler is removed and the logger restored
    afterwards, so a caller that runs commands in process (click's CliRunner, a notebook)
    keeps its own logging set-up between and after them."""
    logger = logging.getLogger("rubricate")
    if any(isinstance(h, _StderrNotes) for h in logger.handlers):  # an invocation inside one
        yield
        return
    handler = _StderrNotes()
    handler.setFormatter(_TerminalSafeFormatter("note: %(message)s"))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


class _StderrNotes(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a line is logged, not as it was when the handler
    was made: an in-process invocation (click's CliRunner) swaps ``sys.stderr`` per call."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__/setStream assign; stderr decides
        pass


class _TerminalSafeFormatter(logging.Formatter):
    """Log lines quote servers and data: escaped like everything else ``echo`` prints."""

    def format(self, record: logging.LogRecord) -> str:
        from rubricate.guidelines.kernel.redaction import redact
        return terminal_safe(redact(super().format(record)))


def on_interrupt(note) -> None:
    """What the one line printed on Ctrl-C says (a callable: evaluated at that moment)."""
    click.get_current_context().find_root().meta["on_interrupt"] = note


class _Names(click.Choice):
    """A choice among the names a module owns: a registry (kernel/plugins.py) or a tuple.

    Read when the option is first parsed or shown, not at start-up, so the CLI repeats no
    registry key and a plug-in's name appears as soon as its package is installed.
    """

    def __init__(self, module: str, attribute: str) -> None:
        self._source = (module, attribute)
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        import importlib
        module, attribute = self._source
        return tuple(getattr(importlib.import_module(module), attribute))

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns; the source decides
        pass


class _Concurrency(click.ParamType):
    """``--max-concurrency``: ``auto`` or a whole number >= 1 (rubrics/llm/limiter.py decides)."""

    name = "auto|N"

    def convert(self, value, param, ctx):
        from rubricate.rubrics.llm.limiter import parse_concurrency
        try:
            return parse_concurrency(value)
        except ValueError:
            self.fail(f"{value!r} is not 'auto' or a whole number >= 1", param, ctx)


@click.group(cls=_Group)
@click.version_option(package_name="rubricate")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="RUBRICATE_WORKSPACE", show_envvar=True,
              help="Folder for everything you make (registry additions, decisions, builds, rubrics, "
                   "results, caches). Default: the current directory.")
def main(workspace: Path | None) -> None:
    """Turn therapy guidelines into traceable rubrics and score LLM responses with them."""
    from rubricate.guidelines.kernel.workspace import using_workspace
    # for this invocation only: a caller running commands in process (click's CliRunner) gets
    # its own choice back, so one call's --workspace never leaks into the next call or its code
    click.get_current_context().with_resource(using_workspace(workspace))


def _ws(kind: str, *parts: str) -> Path:
    """The workspace location of one kind of user data (kernel/workspace.py LAYOUT)."""
    from rubricate.guidelines.kernel.workspace import ws_path
    return ws_path(kind, *parts)


# ---- guidelines ---------------------------------------------------------------------------

REGISTRY_OPTION = click.option("--registry", type=click.Path(dir_okay=False, path_type=Path), default=None,
                               help="Registry YAML used alone (default: the bundled registry overlaid by the workspace's registry.yaml).")


@main.group()
def guidelines() -> None:
    """Source documents: list, show and register guideline files."""


@guidelines.command("list")
@REGISTRY_OPTION
def guidelines_list(registry: Path | None) -> None:
    """One line per registered document: id, year, kind, file roles, how many of its digest
    evidence statements have a reviewer-accepted passage in its source file ("verified 5/17"),
    title."""
    from rubricate.guidelines.sources.registry import load_registry
    from rubricate.guidelines.evidence.align import coverage
    from rubricate.guidelines.evidence.review import accepted_evidence, load_decisions
    reg = load_registry(registry)
    covered = {c.doc_id: c for c in coverage(reg, accepted_evidence(load_decisions(_ws("decisions"))))}
    for doc in reg.documents:
        roles = ",".join(sorted({f.role for f in doc.files})) or "-"
        c = covered[doc.id]
        verified = f"{c.verified}/{c.statements}" if c.statements is not None else "-"
        echo(f"{doc.id}\t{doc.year or '-'}\t{doc.kind}\t{roles}\tverified {verified}\t{doc.title}")


@guidelines.command("show")
@click.argument("doc_id")
@REGISTRY_OPTION
def guidelines_show(doc_id: str, registry: Path | None) -> None:
    """Everything the registry knows about one document, with each file's state."""
    from rubricate.guidelines.sources.registry import load_registry, sha256_file
    reg = load_registry(registry)
    doc = reg.get(doc_id)
    for key in ("id", "title", "creators", "publisher", "year", "edition", "kind", "conditions",
                "url", "url_verified", "pdf_url", "licence"):
        value = getattr(doc, key)
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        echo(f"{key + ':':14} {value if value not in (None, '') else '-'}")
    for f in doc.files:
        path = reg.resolve(f)
        if not path.exists():
            state = "MISSING"
        elif f.sha256 and sha256_file(path) != f.sha256:
            state = "CHANGED since registration"
        else:
            state = "ok"
        echo(f"{'file:':14} {f.path} [{f.role}] {state}")
        for e in reversed(f.previous):
            echo(f"{'  earlier:':14} sha256 {e.sha256[:12]} ({e.path}, replaced {e.replaced or '-'})")


GUIDELINE_META_OPTIONS = [
    click.option("--title"),
    click.option("--kind", help="clinical-practice-guideline, therapy-manual, ethics-code or other."),
    click.option("--creator", "creators", multiple=True, help="Author or issuing body (repeatable)."),
    click.option("--publisher"),
    click.option("--year", type=int),
    click.option("--edition"),
    click.option("--condition", "conditions", multiple=True,
                 help="Condition id covered (repeatable; one of the vocabulary's conditions)."),
    click.option("--url", help="Public landing page."),
    click.option("--pdf-url", help="Public PDF; citations then link to it with #page=N."),
    click.option("--licence"),
]


def _meta_options(f):
    for option in reversed(GUIDELINE_META_OPTIONS):
        f = option(f)
    return f


def _register(file: Path, doc_id: str, role: str, registry: Path | None, meta: dict,
              replace: str | None) -> None:
    """Check everything that needs no parsing, parse, then edit the registry (round-trip)."""
    from rubricate.guidelines.sources.parse import parse_document
    from rubricate.guidelines.sources.registry import check_registration, load_registry, register_file
    from rubricate.ontology.build import condition_ids
    reg = load_registry(registry)
    checked = check_registration(reg, file, doc_id, role, meta, condition_ids(), replace)
    # refuse unreadable files before touching the registry
    parsed = parse_document(file, doc_id, progress=_page_progress(f"reading {file.name}"))
    status = register_file(reg, file, doc_id, role, meta, checked=checked)
    pages = f"{parsed.page_count} pages, " if parsed.paginated else ""
    echo(f"{doc_id}: {file} {status} ({parsed.media_type}, {pages}{len(parsed.blocks)} blocks, "
               f"sha256 {parsed.sha256[:12]}) in {reg.path}")
    if status.startswith("new edition"):
        echo("next: `rubricate build` re-anchors the reviewed decisions onto this edition and "
                   "lists those that need re-review")
    for w in parsed.warnings:
        echo(f"warning: {w}", err=True)


@guidelines.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--id", "doc_id", required=True, help="Document id (the study's natbib key for its 10 documents).")
@click.option("--role", type=_Names("rubricate.guidelines.sources.registry", "ROLES"), default="source",
              show_default=True, help="source: the document itself (verified locators); digest: a paraphrase.")
@_meta_options
@REGISTRY_OPTION
def guidelines_add(file: Path, doc_id: str, role: str, registry: Path | None, **meta) -> None:
    """Register a PDF, text, Markdown or HTML file for a document (records its SHA-256).

    Adding a registered file again after it changed registers a new edition; the earlier
    edition stays in the registry and reviewed decisions are re-anchored at the next build.
    """
    _register(file, doc_id, role, registry, meta, None)


@guidelines.command("update")
@click.argument("doc_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", default="", help="Registered path of the file FILE replaces "
              "(default: the document's only file of --role).")
@click.option("--role", type=_Names("rubricate.guidelines.sources.registry", "ROLES"), default="source",
              show_default=True)
@_meta_options
@REGISTRY_OPTION
def guidelines_update(doc_id: str, file: Path, replace: str, role: str, registry: Path | None, **meta) -> None:
    """Register FILE as the new edition of a document's file (the earlier edition is kept)."""
    _register(file, doc_id, role, registry, meta, replace)


@guidelines.command("fetch")
@click.argument("doc_ids", nargs=-1)
@click.option("--url", default=None, help="Download from this URL instead of the registry's (one ID only); "
              "recorded as the document's pdf_url once the file checked out.")
@click.option("--sha256", "pin", default=None, help="The SHA-256 the file must have (one ID only).")
@click.option("--update", is_flag=True, help="Register a file that differs from the registered source "
              "edition as its new edition (the earlier edition is kept).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds without data before giving up.")
@REGISTRY_OPTION
def guidelines_fetch(doc_ids: tuple[str, ...], url: str | None, pin: str | None, update: bool,
                     timeout: float, registry: Path | None) -> None:
    """Download the public PDF of documents (default: every one with a URL) into the workspace's
    sources/ folder and register it as the document's source edition (SHA-256, size, URL and
    time recorded). Documents without a public URL need your own copy (`guidelines add`)."""
    from rubricate.guidelines.sources.fetch import fetch_document, fetch_url, needs_own_copy
    from rubricate.guidelines.sources.registry import load_registry
    reg = load_registry(registry)
    if (url or pin) and len(doc_ids) != 1:
        raise click.UsageError("--url and --sha256 need exactly one document id")
    docs = [reg.get(d) for d in doc_ids] if doc_ids else [d for d in reg.documents if fetch_url(d)]
    sources = _ws("sources") if registry is None else reg.path.parent / "sources"
    failed = 0
    for doc in docs:
        on_interrupt(lambda: "interrupted; the partial download was removed and the registry is unchanged")
        bar = _ByteProgress(f"fetching {doc.id}")
        try:
            got = fetch_document(reg, doc.id, sources, url=url, pin=pin, update=update, timeout=timeout,
                                 progress=bar, page_progress=_page_progress(f"reading {doc.id}"))
        except RubricateError as exc:
            bar.close()
            echo(f"error: {exc}", err=True)
            failed += 1
            continue
        bar.close()
        d = got.download
        pages = f"{got.pages} pages, " if got.pages else ""
        echo(f"{doc.id}: {got.path} {got.status} ({pages}{d.size:,} bytes, sha256 {d.sha256[:12]}, "
                   f"from {d.final_url}, {d.retrieved})")
    own = needs_own_copy(reg)
    if own and not doc_ids:
        echo(f"need your own copy ({len(own)}; copyrighted or no public URL): "
                   f"{', '.join(d.id for d in own)}; add each with `rubricate guidelines add FILE --id ID`")
    if failed:
        echo(f"{failed} of {len(docs)} document(s) not fetched", err=True)
        sys.exit(EXIT_FAILED)


class _ByteProgress:
    """A ``progress(bytes done, bytes expected)`` callback drawing a bar on stderr (when the
    server said how long the file is); ``close`` ends the bar whatever happened."""

    def __init__(self, label: str) -> None:
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int | None) -> None:
        if not total:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(max(0, min(done, total) - self.bar.pos))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


PROGRESS_MIN_PAGES = 8  # documents this long show a progress bar while they are read


def _page_progress(label: str):
    """A ``progress(done, total)`` callback that draws a bar on stderr for long documents."""
    state: dict = {}

    def update(done: int, total: int) -> None:
        if total < PROGRESS_MIN_PAGES:
            return
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr,
                                                   show_pos=True, item_show_func=lambda _: "pages")
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return update


@guidelines.command("passages")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.option("--kind", "kinds", multiple=True,
              help="Show only passages of this kind (repeatable): body, heading, list, table, caption, "
                   "front_matter, contents, references, declarations, glossary, boilerplate.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@REGISTRY_OPTION
def guidelines_passages(target: str, fmt: str, kinds: tuple[str, ...], out: Path | None,
                        registry: Path | None) -> None:
    """Every passage of a registered document (TARGET = its id) or of a file (TARGET = a path,
    parsed without registering it): page, printed page label, kind, section and text."""
    import json
    from rubricate.guidelines.kernel.fileio import atomic_write_text
    from rubricate.guidelines.sources.kinds import check_kinds
    from rubricate.guidelines.sources.parse import parse_document
    from rubricate.guidelines.sources.passages import listing, make_passages
    from rubricate.guidelines.sources.registry import load_registry
    wanted = set(check_kinds(kinds))
    path = Path(target)
    if path.is_file():
        files = [(path, path.stem, True)]
    else:
        reg = load_registry(registry)
        doc = reg.get(target)  # one-line error naming the unknown id
        files = [(reg.resolve(f), doc.id, f.role == "source") for f in doc.files]
    rows, warnings = [], []
    for file, doc_id, verified in files:
        parsed = parse_document(file, doc_id, progress=_page_progress(f"reading {file.name}"))
        warnings += parsed.warnings
        rows += [r for r in listing(parsed, make_passages(parsed, verified)) if not wanted or r["kind"] in wanted]
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        table = [("page", "label", "kind", "section", "text")]
        for r in rows:
            section = " > ".join(r["section"]) or "-"
            table.append((str(r["page"] or "-"), r["page_label"] or "-", r["kind"],
                          section if len(section) <= 60 else "\u2026" + section[-59:],
                          " ".join(r["text"].split())))
        widths = [max(len(t[i]) for t in table) for i in range(4)]
        text = "".join("  ".join(v.ljust(w) for v, w in zip(t, widths)) + "  " + t[-1] + "\n" for t in table)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["kind"]] = counts.get(r["kind"], 0) + 1
        text += f"{len(rows)} passage(s): " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + "\n"
    if out is None:
        echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        echo(f"wrote {len(rows)} passage(s) to {out}", err=True)
    for w in warnings:
        echo(f"warning: {w}", err=True)


# ---- knowledge base -----------------------------------------------------------------------

def POLICY_OPTIONS(f):
    """--policy and --adjudicator: how several reviewers' decisions become evidence."""
    f = click.option("--adjudicator", default=None,
                     help="With --policy adjudicator: the reviewer who settles disagreements.")(f)
    return click.option("--policy", default=None,
                        help="consensus: evidence only where the reviewers agree (disagreements await "
                             "`review adjudicate`); any: any reviewer's accept counts; "
                             "'adjudicator NAME': NAME settles disagreements. Default: the policy "
                             "recorded with `rubricate review policy`, else consensus.")(f)


KB_OPTION = click.option("--kb", "kb_path", type=click.Path(path_type=Path), default=None,
                         help="Built knowledge base (kb.ttl or its folder; default: the workspace's "
                              "build/kb while it is current, else a fresh build in memory).")


def _kb_graph(kb_path: Path | None):
    """The one "which knowledge base" policy (ontology.kb.current_kb), notes on stderr."""
    from rubricate.ontology.kb import current_kb
    return current_kb(kb_path, note=lambda s: echo(f"note: {s}", err=True))


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for kb.ttl, kb.jsonld and build-report.json (default: build/kb in the workspace).")
@REGISTRY_OPTION
@click.option("--decisions", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Reviewer decisions log (default: reviews/decisions.jsonl in the workspace, if present).")
@click.option("--workers", type=click.IntRange(1), default=None, help="Parallel document parsers (default: CPUs).")
@POLICY_OPTIONS
def build(out: Path | None, registry: Path | None, decisions: Path | None, workers: int | None, policy: str | None,
          adjudicator: str | None) -> None:
    """Build the knowledge base from the registry, texts and the mapping review; validate it.

    Reviewed decisions made on an earlier edition of a file are re-anchored on the current
    one; those that cannot be are listed in OUT/needs-rereview.csv (a review sheet)."""
    from rubricate.guidelines.evidence.review import parse_policy
    from rubricate.ontology.kb import build as run_build, report_lines
    kb_out = out or _ws("kb")
    on_interrupt(lambda: f"interrupted; {kb_out} holds the previous knowledge base or the whole new one, "
                         "never a mix; run the same command again")
    chosen = parse_policy(policy, adjudicator) if policy or adjudicator else None
    result = run_build(registry=registry, decisions=decisions, workers=workers, out=kb_out, policy=chosen,
                       progress=lambda line: echo(line, err=True))
    for line in report_lines(result):
        echo(line, err=line.startswith(("error", "warning", "violation")))
    if not result.ok:
        sys.exit(1)


@main.command()
@click.argument("kb_file", type=click.Path(path_type=Path))
def validate(kb_file: Path) -> None:
    """Check a built knowledge base against the SHACL shapes."""
    from rubricate.guidelines.kernel.fileio import check_input_file
    from rubricate.ontology.store import load_kb
    from rubricate.ontology.validate import validate_graph
    if kb_file.exists():  # a missing one is load_kb's message
        check_input_file(kb_file / "kb.ttl" if kb_file.is_dir() else kb_file, "knowledge base")
    v = validate_graph(load_kb(kb_file))
    for line in v.violations:
        echo(f"violation: {line}", err=True)
    if not v.conforms:
        echo(f"{kb_file}: does not conform ({len(v.violations)} violations)", err=True)
        sys.exit(1)
    echo(f"{kb_file}: conforms")


@main.command()
@click.argument("sparql")
@KB_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def query(sparql: str, kb_path: Path | None, fmt: str) -> None:
    """Run a SPARQL SELECT on the knowledge base (prefixes rbc, oa, prov, dcterms, skos bound)."""
    from rubricate.ontology.query import run_select, render
    header, rows = run_select(_kb_graph(kb_path), sparql)
    echo(render(header, rows, fmt), nl=False)


@main.command()
@KB_OPTION
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv"]), default="markdown", show_default=True)
def table(kb_path: Path | None, fmt: str) -> None:
    """The mapping-review table: one row per document, one column per feature."""
    from rubricate.ontology.table import table_rows, to_csv, to_markdown
    header, rows = table_rows(_kb_graph(kb_path))
    echo(to_csv(header, rows) if fmt == "csv" else to_markdown(header, rows), nl=False)


# ---- extraction and review ----------------------------------------------------------------

DECISIONS_DIR_OPTION = click.option(
    "--decisions-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of the decisions log decisions.jsonl (default: reviews/ in the workspace).")


def _decisions_log(decisions_dir: Path | None) -> Path:
    return _ws("decisions") if decisions_dir is None else decisions_dir / "decisions.jsonl"


INCLUDE_OPTION = click.option(
    "--include", "include", multiple=True, metavar="KIND",
    help="Also propose passages of this non-guidance kind (repeatable): front_matter, contents, "
         "references, declarations, glossary, boilerplate.")


def _candidates(registry: Path | None, doc_ids: tuple[str, ...], include: tuple[str, ...] = ()):
    from rubricate.guidelines.evidence.extract import extract_candidates, registry_passages
    from rubricate.guidelines.sources.kinds import check_kinds
    from rubricate.guidelines.sources.registry import load_registry
    check_kinds(include)
    passages = registry_passages(load_registry(registry), doc_ids or None)
    return passages, extract_candidates(passages, include=include)


@main.command()
@click.option("--doc", "doc_ids", multiple=True, help="Document id (repeatable; default: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@INCLUDE_OPTION
@REGISTRY_OPTION
def extract(doc_ids: tuple[str, ...], fmt: str, out: Path | None, include: tuple[str, ...],
            registry: Path | None) -> None:
    """Propose passages as evidence for features (lexicons in guidelines/patterns; proposals only).

    Contents, references, declarations, glossary, boilerplate and front matter are skipped
    unless named with --include."""
    import json
    from rubricate.guidelines.kernel.fileio import atomic_write_text
    _, cands = _candidates(registry, doc_ids, include)
    if fmt == "jsonl":
        text = "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in cands)
    else:
        rows = [("document", "passage", "where", "feature", "score", "polarity", "matched")]
        for c in cands:
            where = f"p.{c.page_label or c.page}" if c.page else (c.section_path[-1][:40] if c.section_path else "-")
            rows.append((c.doc_id, c.passage_id, where, c.feature, f"{c.score:.2f}", c.polarity,
                         " ".join(c.matched.split())))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        text = "".join("  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[-1] + "\n" for r in rows)
        text += f"{len(cands)} candidate(s) in {len({c.doc_id for c in cands})} document(s)\n"
    if out is None:
        echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        echo(f"wrote {len(cands)} candidate(s) to {out}", err=True)


def _alignment_candidates(registry: Path | None, doc_ids: tuple[str, ...], top: int):
    """Source passages and alignment proposals (one sheet row per passage x feature, best kept)."""
    from rubricate.guidelines.evidence.align import align_document
    from rubricate.guidelines.sources.registry import load_registry
    if not doc_ids:
        raise click.UsageError("--from align needs --doc ID (a document with a source file)")
    reg = load_registry(registry)
    best: dict[tuple[str, str], object] = {}
    for doc_id in doc_ids:
        for p in align_document(reg, doc_id, top):
            key = (p.passage.id, p.statement.feature)
            if key not in best or p.score > best[key].score:
                best[key] = p
    return [p.passage for p in best.values()], [p.candidate() for p in best.values()]


@main.command()
@click.option("--doc", "doc_id", required=True, help="Document id (with a registered source file).")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="Proposals per statement.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@REGISTRY_OPTION
def align(doc_id: str, top: int, fmt: str, out: Path | None, registry: Path | None) -> None:
    """Propose, for each digest evidence statement of a document, the passages of the real
    document that say it (meaning words, feature patterns, section context; recommendation
    text over contents and front matter). Review them with `review export --from align`."""
    import json
    from rubricate.guidelines.evidence.align import align_document
    from rubricate.guidelines.kernel.fileio import atomic_write_text
    from rubricate.guidelines.sources.registry import load_registry
    props = align_document(load_registry(registry), doc_id, top)
    if fmt == "jsonl":
        text = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in props)
    else:
        lines, last = [], None
        for p in props:
            st = p.statement
            if st.id != last:
                lines.append(f"{st.feature}: {_clip(st.text, 110)}")
                last = st.id
            d = p.to_dict()
            where = f"p.{d['page_label'] or d['page']}" if d["page"] else "-"
            section = " > ".join(d["section"][-2:]) or "-"
            lines.append(f"  {p.rank}. {p.score:.3f}  {where:7} [{d['kind']}] {_clip(section, 50)}: "
                         f"{_clip(p.passage.text, 90)}")
            lines.append(f"       {'; '.join(p.reasons)}")
        n = len({p.statement.id for p in props})
        text = "\n".join(lines) + f"\n{n} statement(s), {len(props)} proposal(s)\n"
    if out is None:
        echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        echo(f"wrote {len(props)} proposal(s) to {out}", err=True)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "\u2026"


@main.group()
def review() -> None:
    """Reviewer decisions on extraction candidates: export a sheet, import it, compare reviewers."""


@review.command("export")
@click.option("--reviewer", required=True, help="Reviewer name (letters, digits, '.', '_', '-').")
@click.option("--doc", "doc_ids", multiple=True, help="Document id (repeatable; default: all).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for review-<reviewer>[-<doc>].csv and .jsonl.")
@click.option("--force", is_flag=True, help="Overwrite an existing sheet of the same name.")
@click.option("--from", "source", type=click.Choice(["extract", "align"]), default="extract", show_default=True,
              help="extract: lexicon proposals; align: the real document's passages that best match each "
                   "digest evidence statement (`rubricate align`).")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True,
              help="With --from align: proposals per statement.")
@INCLUDE_OPTION
@REGISTRY_OPTION
def review_export(reviewer: str, doc_ids: tuple[str, ...], out_dir: Path, force: bool, source: str, top: int,
                  include: tuple[str, ...], registry: Path | None) -> None:
    """Write a review sheet (CSV + JSONL) of candidates with empty decision columns."""
    from rubricate.guidelines.evidence.review import check_reviewer, export_sheet
    from rubricate.guidelines.kernel.safepath import check_identifier
    reviewer = check_reviewer(reviewer)
    for doc_id in doc_ids:
        check_identifier(doc_id, "document id")
    if source == "align":
        passages, cands = _alignment_candidates(registry, doc_ids, top)
    else:
        passages, cands = _candidates(registry, doc_ids, include)
    name = f"review-{reviewer}" + (f"-{doc_ids[0]}" if len(doc_ids) == 1 else "") + \
        ("-align" if source == "align" else "")
    csv_path, jsonl_path = export_sheet(cands, passages, reviewer, out_dir, name=name, force=force)
    echo(f"wrote {len(cands)} candidate(s) to {csv_path} and {jsonl_path}; fill decision "
               "(accept/reject/relabel), relabel_to, note, then `rubricate review import`")


@review.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@DECISIONS_DIR_OPTION
def review_import(file: Path, decisions_dir: Path | None) -> None:
    """Validate a filled sheet (CSV or JSONL) and append its decisions to the decisions log."""
    from rubricate.guidelines.evidence.review import import_sheet
    r = import_sheet(file, _decisions_log(decisions_dir))
    echo(f"{file}: {len(r.added)} decision(s) appended to {r.log}; {r.unchanged} unchanged, "
               f"{r.pending} row(s) without a decision")


@review.command("agreement")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reviewers", nargs=2, default=None, help="Two reviewer names to compare in the decisions log.")
@DECISIONS_DIR_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap CIs.")
@click.option("--n-resamples", type=click.IntRange(1), default=1000, show_default=True)
def review_agreement(files: tuple[Path, ...], reviewers: tuple[str, str] | None, decisions_dir: Path | None,
                     fmt: str, seed: int, n_resamples: int) -> None:
    """Inter-reviewer agreement: Cohen's kappa per feature with a bootstrap 95% CI (and macro
    F1, disagreements) for two reviewers; Krippendorff's alpha per feature when more coded.

    Give filled sheets (FILE_A FILE_B [FILE_C ...]), or --reviewers A B, or nothing to compare
    every coder in the decisions log.
    """
    import json
    from dataclasses import replace
    from rubricate.guidelines.evidence.review import (agreement, coders, format_agreement, format_multi_agreement,
                                                      load_decisions, multi_agreement, read_sheet,
                                                      reviewer_decisions)
    log_path = _decisions_log(decisions_dir)
    if files and reviewers:
        raise click.UsageError("give sheets FILE_A FILE_B ..., or --reviewers A B, not both")
    if files:
        if len(files) < 2:
            raise click.UsageError("give at least two sheets")
        sheets = [read_sheet(f)[0] for f in files]
        names = [", ".join(coders(ds)) or f.stem for f, ds in zip(files, sheets)]
        if len(set(names)) < len(names):  # e.g. one reviewer's two rounds: tell them apart by file
            names = [f.name for f in files]
        decisions = [replace(d, reviewer=name) for name, ds in zip(names, sheets) for d in ds]
    else:
        decisions = load_decisions(log_path)
        names = list(reviewers) if reviewers else coders(decisions)
        for name in names:
            if not reviewer_decisions(decisions, name):
                raise RubricateError(f"no decisions by reviewer {name!r}", path=str(log_path))
        if len(names) < 2:
            raise RubricateError(f"agreement needs two reviewers; the log has {len(names)}", path=str(log_path))
    if len(names) == 2:
        a, b = (reviewer_decisions(decisions, r) for r in names)
        result = agreement(a, b, n_resamples, seed)
        lines = format_agreement(result)
    else:
        result = multi_agreement(decisions, names, n_resamples, seed)
        lines = format_multi_agreement(result)
    echo(json.dumps(result, indent=2) if fmt == "json" else "\n".join(lines))


@review.command("policy")
@click.argument("policy", required=False)
@click.option("--adjudicator", default=None, help="With policy adjudicator: who settles disagreements.")
@DECISIONS_DIR_OPTION
def review_policy(policy: str | None, adjudicator: str | None, decisions_dir: Path | None) -> None:
    """Show or choose the review's policy: consensus (default), any, or "adjudicator NAME".

    The choice is recorded beside the decisions log (review-policy.yaml), so every later
    `rubricate build` and `rubricate run` applies it unless --policy says otherwise."""
    from rubricate.guidelines.evidence.review import load_decisions, load_policy, parse_policy, resolve, save_policy
    log = _decisions_log(decisions_dir)
    if policy is None and adjudicator is None:
        chosen = load_policy(log)
    else:
        chosen = parse_policy(policy or "adjudicator", adjudicator)
        echo(f"recorded in {save_policy(chosen, log)}")
    pending = resolve(load_decisions(log), chosen).pending
    echo(f"policy: {chosen}; {len(pending)} disagreement(s) await adjudication")


@review.command("adjudicate")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--adjudicator", required=True, help="Who settles the disagreements (a reviewer name).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Export: folder for adjudicate-<adjudicator>.csv and .jsonl.")
@click.option("--force", is_flag=True, help="Overwrite an existing adjudication sheet.")
@DECISIONS_DIR_OPTION
def review_adjudicate(file: Path | None, adjudicator: str, out_dir: Path | None, force: bool,
                      decisions_dir: Path | None) -> None:
    """Settle disagreements between reviewers.

    With --out: export every candidate the coders decided differently (and no adjudication
    settled yet) as a sheet with each coder's label. With FILE: import the filled sheet; its
    decisions are final and are logged as one adjudication (a PROV activity with the
    adjudicator as agent and the time).
    """
    from rubricate.guidelines.evidence.review import (ADJUDICATION_COLUMNS, adjudication_rows, check_reviewer,
                                                      import_sheet, load_decisions, load_policy, resolve,
                                                      write_sheet)
    adjudicator = check_reviewer(adjudicator)
    log = _decisions_log(decisions_dir)
    if (file is None) == (out_dir is None):
        raise click.UsageError("give --out DIR to export the disagreements, or FILE to import decisions")
    if file is not None:
        r = import_sheet(file, log, adjudicator=adjudicator)
        left = len(resolve(load_decisions(log), load_policy(log)).pending)
        echo(f"{file}: {len(r.added)} adjudication(s) by {adjudicator} appended to {r.log}; "
                   f"{r.unchanged} unchanged, {r.pending} row(s) without a decision; {left} disagreement(s) left")
        return
    pending = resolve(load_decisions(log), load_policy(log)).pending
    csv_path = out_dir / f"adjudicate-{adjudicator}.csv"
    jsonl_path = csv_path.with_suffix(".jsonl")
    for p in (csv_path, jsonl_path):
        if p.exists() and not force:
            raise RubricateError("sheet already exists (it may hold decisions); use --force to overwrite", path=str(p))
    write_sheet(adjudication_rows(pending, adjudicator), csv_path, jsonl_path, ADJUDICATION_COLUMNS)
    echo(f"wrote {len(pending)} disagreement(s) to {csv_path} and {jsonl_path}; fill decision "
               f"(accept/reject/relabel), then `rubricate review adjudicate {csv_path} --adjudicator {adjudicator}`")


@main.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(old: Path, new: Path, fmt: str) -> None:
    """Compare two built knowledge bases (kb.ttl files or build folders): features and citations per
    document, and reviewed decisions re-anchored, moved or lost between editions.

    Exit status as diff(1): 0 when the builds agree, 1 when they differ, 2 on trouble."""
    import json
    from rubricate.ontology.diff import diff_kb_files, format_diff
    old, new = (p / "kb.ttl" if p.is_dir() else p for p in (old, new))
    d = diff_kb_files(old, new)
    echo(json.dumps(d.to_dict(), indent=2) if fmt == "json" else "\n".join(format_diff(d)))
    if d.changed:
        sys.exit(1)  # like diff(1): 0 same, 1 different, 2 trouble



# ---- compiler and exports -----------------------------------------------------------------

@main.command("compile")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the rubrics (default: build/rubrics in the workspace, which commands "
                   "read before the bundled rubrics).")
@click.option("--system-prompt", is_flag=True,
              help="Print the therapist system prompt compiled from the ontology, and nothing else.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the rubrics in --out are missing or differ from a fresh compile.")
@click.option("--items", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Stimulus-set YAML (default: compiler/data/default_items.yaml).")
@click.option("--personas", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Simulated clients and conversation criteria YAML (default: compiler/data/personas.yaml).")
@click.option("--kb", "kb_path", type=click.Path(path_type=Path), default=None,
              help="A built knowledge base (kb.ttl or its folder); default: the workspace's build/kb "
                   "while current, else a fresh build in memory.")
def compile_cmd(out: Path | None, system_prompt: bool, check: bool, items: Path | None, personas: Path | None,
                kb_path: Path | None) -> None:
    """Compile the knowledge base into rubric JSON files (deterministic, schema-valid)."""
    graph = _kb_graph(kb_path)
    if system_prompt:
        from rubricate.compiler.system_prompt import therapist_system_prompt
        echo(therapist_system_prompt(graph), nl=False)
        return
    from rubricate.compiler.compile import compile_all, stale_files, write_rubrics
    out = out or _ws("rubrics")
    files = compile_all(graph, items, personas)
    if check:
        stale = stale_files(files, out)
        for name in stale:
            echo(f"stale: {out / name} (run `rubricate compile`)", err=True)
        if stale:
            sys.exit(1)
        echo(f"up to date: {', '.join(sorted(files))}")
        return
    written = write_rubrics(files, out)
    for name in sorted(files):
        state = "wrote" if out / name in written else "unchanged"
        echo(f"{state} {out / name}")


@main.group("import")
def import_group() -> None:
    """Import a published study's files as rubrics and responses."""


@import_group.command("moore2025")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for moore2025.json, moore2025-stigma.json and the responses "
                   "(default: build/moore2025 in the workspace).")
@click.option("--responses", "responses", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="responses_dev.jsonl-format file(s) to convert (default: DIRECTORY/responses*.jsonl).")
@KB_OPTION
def import_moore2025(directory: Path, out: Path | None, responses: tuple[Path, ...], kb_path: Path | None) -> None:
    """Moore et al. (FAccT 2025) release: stimuli.json -> rubric, responses -> responses JSONL."""
    from rubricate.compiler.moore2025.importer import import_study
    written = import_study(directory, _kb_graph(kb_path), out or _ws("imports", "moore2025"),
                           list(responses) or None)
    for path in written.values():
        echo(f"wrote {path}")


@main.command("export")
@click.option("--rubric", "rubric", default="rubricate-default", show_default=True,
              help="Rubric file, or the id of a rubric (the workspace's build/rubrics first, then the bundled ones).")
@click.option("--format", "fmt", type=_Names("rubricate.rubrics.integrations.export", "EXPORTERS"), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--system-prompt", is_flag=True,
              help="Put the therapist system prompt (compiled from the ontology) before each chat.")
@click.option("--provider", default=None,
              help="promptfoo: provider id of the model under test (default openai:chat:gpt-4o-mini).")
@click.option("--grader", default=None,
              help="promptfoo: provider id of the llm-rubric grader (default openai:chat:gpt-4o).")
@click.option("--base-url", default=None,
              help="promptfoo: OpenAI-compatible base URL of the model under test (and of the grader, "
                   "unless --grader-base-url).")
@click.option("--grader-base-url", default=None, help="promptfoo: OpenAI-compatible base URL of the grader.")
def export_cmd(rubric: str, fmt: str, out: Path, system_prompt: bool, provider: str | None, grader: str | None,
               base_url: str | None, grader_base_url: str | None) -> None:
    """Export a rubric's response items for HealthBench, Inspect AI, promptfoo, FHIR or a
    registered exporter (entry-point group rubricate.exporters)."""
    from rubricate.rubrics.integrations.export import export
    prompt = None
    if system_prompt:
        from rubricate.compiler.system_prompt import default_therapist_prompt
        prompt = default_therapist_prompt()
    n = export(rubric, fmt, out, prompt, note=lambda line: echo(f"note: {line}", err=True),
               provider=provider, grader=grader, base_url=base_url, grader_base_url=grader_base_url)
    echo(f"wrote {out} ({n} items, {fmt})")


# ---- evaluation, trace, report, run -------------------------------------------------------


def _progress(label: str, total: int | None):
    """A click progress bar on a terminal; silent otherwise (CI logs stay readable)."""
    if not sys.stderr.isatty():
        return None, (lambda n: None)
    bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True, show_eta=True)
    bar.__enter__()
    return bar, bar.update


def _count_lines(path: Path) -> int:
    from rubricate.guidelines.kernel.fileio import check_input_file
    with open(check_input_file(path, "responses file"), "rb") as fh:
        return sum(1 for _ in fh)


def _summary_lines(summary: dict) -> list[str]:
    lines = [f"responses: {summary['responses']}  verdicts: {summary['verdicts']}"
             + (f"  skipped input lines: {summary['skipped_input']['count']}" if summary.get("skipped_input") else "")]
    for judge, sec in summary["by_judge"].items():
        o = sec["overall"]
        if o["estimate"] is None:
            lines.append(f"[{judge}] no judged responses")
            continue
        lines.append(f"[{judge}] appropriate: {o['estimate']:.1%} (95% CI {o['ci_low']:.1%}-{o['ci_high']:.1%}, "
                     f"n={o['n']}, unknown={o['n_missing']})")
        for model, r in sec["by_model"].items():
            if r["estimate"] is not None:
                lines.append(f"  {model:40} {r['estimate']:.1%} ({r['ci_low']:.1%}-{r['ci_high']:.1%}) n={r['n']}")
    for judge, sec in summary["by_judge"].items():
        unsure = (sec.get("uncertain") or {}).get("verdicts")
        if unsure:
            lines.append(f"[{judge}] uncertain (the offline judge abstained; not counted as yes or no): {unsure} "
                         "verdict(s)")
    for judge, c in (summary.get("cascade") or {}).items():
        line = (f"[{judge}] routed to the LLM judge: {c['routed_total']} of {c['verdicts']} verdicts "
                f"({c['share_routed']:.1%}; " + ", ".join(f"{k} {v}" for k, v in c["routed"].items()) + ")"
                if c["verdicts"] else f"[{judge}] no verdicts")
        if c.get("saved", {}).get("cost_usd") is not None:
            line += f"; saved ${c['saved']['cost_usd']:.4f} of an estimated ${c['llm_only_estimate']['cost_usd']:.4f} LLM-only"
        elif c.get("saved", {}).get("total_tokens") is not None:
            line += (f"; saved {c['saved']['total_tokens']:,.0f} of an estimated "
                     f"{c['llm_only_estimate']['total_tokens']:,.0f} LLM-only tokens")
        lines.append(line)
        if c.get("audit"):
            a = c["audit"]
            lines.append(f"[{judge}] audit: the LLM judge agreed with {a['agreed']} of {a['n']} confident rules "
                         f"verdicts ({a['agreement']:.1%})")
    for judge, sec in summary["by_judge"].items():
        st = (sec.get("stability") or {}).get("overall")
        if st and st["n"]:
            lines.append(f"[{judge}] repeated judging: {st['unstable']} of {st['n']} verdicts unstable "
                         f"({st['share_unstable']:.1%}), mean agreement between repeats {st['agreement']:.1%}")
    refusals = summary.get("refusals") or {}
    if refusals.get("responses"):
        lines.append(f"refusals by the model under test: {refusals['responses']} response(s) ("
                     + ", ".join(f"{m}: {n}" for m, n in refusals["by_model"].items()) + "; not in the rates)")
    if summary.get("flags"):
        lines.append("flags: " + ", ".join(f"{k}={v}" for k, v in summary["flags"].items()))
    for judge, models in (summary.get("usage_by_judge") or {}).items():
        for model, u in models.items():
            if not u.get("total_tokens"):
                continue
            line = (f"[{judge}] usage {model}: {u.get('prompt_tokens', 0):,.0f} prompt + "
                    f"{u.get('completion_tokens', 0):,.0f} completion tokens")
            if u.get("cost_usd") is not None and "cost_usd" in u:
                line += f", estimated cost ${u['cost_usd']:.4f}"
            if u.get("batch_savings_usd"):
                line += f" (batch discount ${u['batch_savings_usd']:.4f})"
            lines.append(line)
    return lines


ENDPOINT_OPTIONS = [
    click.option("--model", "llm_model", default=None, help="Model name at the endpoint."),
    click.option("--base-url", default=None,
                 help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI)."),
    click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
                 help="Environment variable holding the API key (not needed for a local server)."),
    click.option("--max-concurrency", type=_Concurrency(), default="auto", show_default=True,
                 help="Requests in flight at most, or auto: start at 16, grow while the server's latency "
                      "holds, back off on 429s and rising latency (up to 512)."),
    click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
                 help="Seconds per request."),
    click.option("--max-retries", type=click.IntRange(0), default=6, show_default=True),
    click.option("--seed", type=int, default=0, show_default=True),
    click.option("--temperature", type=click.FloatRange(0, 2), default=None,
                 help="Default: the protocol's (0); not sent to model families that reject it."),
    click.option("--max-tokens", type=click.IntRange(1), default=None,
                 help="Reply length limit (sent as max_completion_tokens to reasoning models)."),
    click.option("--max-completion-tokens", type=click.IntRange(1), default=None,
                 help="Reply length limit including reasoning tokens (reasoning models)."),
    click.option("--reasoning-effort", type=click.Choice(["none", "minimal", "low", "medium", "high"]),
                 default=None, help="For reasoning models."),
    click.option("--extra-body", default=None, metavar="JSON",
                 help="JSON object merged into every request body (e.g. '{\"top_p\": 0.9}')."),
    click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="Request cache (default: $RUBRICATE_CACHE_DIR/llm, else .cache/llm in the workspace)."),
    click.option("--no-cache", is_flag=True, help="Do not read or write the request cache."),
    click.option("--price-per-mtok", default=None, metavar="IN,OUT",
                 help="USD per million input and output tokens, for an estimated cost."),
    click.option("--price-table", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                 help="JSON {model: {input: USD per 1M tokens, output: ...}} to report cost."),
]
BATCH_OPTIONS = [
    click.option("--batch", is_flag=True, help="Send the calls through the provider's batch API "
                 "(files + batches; about half the price, results within 24 h)."),
    click.option("--batch-fallback", type=click.Choice(["batch", "online"]), default="batch", show_default=True,
                 help="Ask calls that failed in a batch again as a new batch, or online."),
    click.option("--batch-poll-interval", type=click.FloatRange(min=0.01), default=10.0, show_default=True,
                 help="Seconds between status checks of a batch (growing to 60)."),
]
JUDGE_OPTIONS = [
    click.option("--protocol", type=_Names("rubricate.rubrics.llm.protocols", "PROTOCOLS"),
                 default="criterion", show_default=True, help="How the LLM judge is asked."),
    click.option("--repeats", type=click.IntRange(1), default=1, show_default=True,
                 help="Ask the LLM judge N times per criterion (seed + k each); the majority "
                      "answer stands and verdicts whose answers differ are flagged unstable."),
    click.option("--max-failure-rate", type=click.FloatRange(0, 1), default=0.5, show_default=True,
                 help="Exit 1 when more than this share of LLM judgements failed."),
    click.option("--audit-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                 help="--judge cascade: also send this share of the confident rules verdicts to the LLM "
                      "judge (drawn with --seed), to measure how often they agree."),
]


def _options(opts):
    def deco(f):
        for opt in reversed(opts):
            f = opt(f)
        return f
    return deco


endpoint_options = _options(ENDPOINT_OPTIONS)
batch_options = _options(BATCH_OPTIONS)
llm_options = _options(ENDPOINT_OPTIONS + JUDGE_OPTIONS)
_ENDPOINT_KEYS = ("base_url", "api_key_env", "max_concurrency", "timeout", "max_retries", "seed",
                  "temperature", "max_tokens", "max_completion_tokens", "reasoning_effort",
                  "extra_body", "price_per_mtok", "price_table")


def _llm_kwargs(kw: dict) -> dict:
    """The LLM options, popped from ``kw``: model, protocol, cache and the endpoint's."""
    keys = ("llm_model", "protocol", "cache_dir", "no_cache", "max_failure_rate", "batch", "batch_fallback",
            "batch_poll_interval", "repeats", "audit_rate") + _ENDPOINT_KEYS
    return {k: kw.pop(k) for k in keys if k in kw}


def _endpoint_config(o: dict, announce: bool = True):
    """The EndpointConfig of the options, checked (model, key, extra body, price) before any
    work; the effective endpoint is printed once (never the key)."""
    from rubricate.rubrics.llm.endpoint import endpoint_from_options
    cfg = endpoint_from_options(o.get("llm_model"), **{k: o[k] for k in _ENDPOINT_KEYS if k in o})
    if announce:
        echo(cfg.banner(), err=True)
    return cfg


def _endpoint(kw: dict):
    """EndpointConfig and cache from the shared endpoint options (popped from ``kw``)."""
    from rubricate.rubrics.llm import open_cache
    o = _llm_kwargs(kw)
    cfg = _endpoint_config(o)
    return cfg, open_cache(o["cache_dir"], o["no_cache"])


def _system_prompt(value: str) -> str | None:
    """none | therapist (compiled from the ontology) | a file path."""
    if value == "none":
        return None
    if value == "therapist":
        from rubricate.compiler.system_prompt import default_therapist_prompt
        return default_therapist_prompt()
    from rubricate.guidelines.kernel.fileio import read_text_file
    return read_text_file(value, "system prompt")


def _report_counts(ctx: click.Context, label: str, counts: dict, out: Path) -> None:
    """What a respond/probe run did; exit 1 when calls failed (a re-run retries only those)."""
    echo(f"{label}: {counts['requests']} requests, {counts['already_done']} already in {out}, "
               f"{counts['written']} written, {counts['failed']} failed"
               + (f", {counts['refusals']} refusals (written as refusals)" if counts.get("refusals") else "")
               + _concurrency_suffix((counts.get("stats") or {}).get("concurrency")))
    for cause, n in counts["errors"].items():
        echo(f"error: {n} call(s) failed: {cause}", err=True)
    if counts["failed"]:
        echo(f"error: {counts['failed']} of {counts['requests'] - counts['already_done']} calls failed; "
                   "re-run the same command to retry them", err=True)
        ctx.exit(EXIT_FAILED)


def _replies_note(out: Path) -> None:
    def note() -> str:
        n = 0
        if Path(out).exists():
            with open(out, "rb") as fh:
                n = sum(1 for line in fh if line.endswith(b"\n"))
        return f"interrupted; {n} replies kept in {out}; re-run the same command to continue"
    on_interrupt(note)


@main.command()
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Rubric whose items' stimuli are sent (default: rubrics/rubricate-default.json).")
@click.option("--system-prompt", default="none", show_default=True,
              help="none | therapist (the prompt compiled from the ontology) | FILE")
@click.option("--samples", type=click.IntRange(1), default=1, show_default=True,
              help="Replies per item (seed + sample number each).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Responses JSONL (appended to; a re-run sends only what is missing).")
@endpoint_options
@batch_options
@click.pass_context
def respond(ctx, rubric_path, system_prompt, samples, out, batch, batch_fallback, batch_poll_interval, **kw):
    """Send every item's stimulus to a model under test; write responses `evaluate` reads."""
    from rubricate.rubrics.evaluation.respond import batch_ledger, rubric_requests, run_requests
    from rubricate.rubrics.contract.loader import load_rubric
    prompt = _system_prompt(system_prompt)  # a bad prompt file is refused before the endpoint line
    endpoint, cache = _endpoint(kw)
    rubric = load_rubric(rubric_path)
    requests = rubric_requests(rubric.data, prompt, samples, endpoint.model)
    _replies_note(out)
    options = None
    if batch:
        from rubricate.rubrics.llm.batch import BatchOptions
        options = BatchOptions(batch_ledger(out), batch_fallback, batch_poll_interval)
    counts = run_requests(requests, endpoint, out, "response", samples=samples, cache=cache, batch=options)
    _report_counts(ctx, rubric.id, counts, out)


@main.command()
@click.option("--rubric", "rubric_ref", default="rubricate-conversations", show_default=True,
              help="Conversations rubric (file or id) whose personas play the client.")
@click.option("--persona", "personas", multiple=True, help="Only this persona (repeatable; default: all).")
@click.option("--telling", type=click.Choice(["both", "explicit", "implicit"]), default="both", show_default=True,
              help="Which telling of each persona to hold.")
@click.option("--conversations", type=click.IntRange(1), default=1, show_default=True,
              help="Conversations per persona and telling (seed + k each).")
@click.option("--turns", type=click.IntRange(1), default=10, show_default=True,
              help="Assistant turns per conversation, unless the simulated client ends it first.")
@click.option("--system-prompt", default="none", show_default=True,
              help="System prompt of the model under test: none | therapist | FILE")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for transcripts.jsonl and results/ (default: out/conversations in the workspace); "
                   "re-running the same command continues where it stopped.")
@click.option("--client-model", required=True, help="Model that plays the client (simulated user).")
@click.option("--client-base-url", default=None, help="Its OpenAI-compatible endpoint (default: --base-url's).")
@click.option("--client-api-key-env", default=None, help="Variable with its API key (default: --api-key-env's).")
@click.option("--client-temperature", type=click.FloatRange(0, 2), default=None,
              help="Sampling temperature of the simulated client (default: the endpoint's, 0).")
@click.option("--judge", type=click.Choice(["rules", "llm", "ensemble", "none"]), default="rules",
              show_default=True, help="Judge the conversations once all are complete (none: only hold them).")
@click.option("--judge-model", default=None, help="LLM judge model (with --judge llm or ensemble).")
@click.option("--judge-base-url", default=None, help="LLM judge endpoint (default: --base-url's).")
@click.option("--judge-api-key-env", default=None, help="Variable with the judge's API key (default: --api-key-env's).")
@endpoint_options
@click.pass_context
def converse(ctx, rubric_ref, personas, telling, conversations, turns, system_prompt, out, client_model,
             client_base_url, client_api_key_env, client_temperature, judge, judge_model, judge_base_url,
             judge_api_key_env, **kw):
    """Hold conversations between simulated clients (personas) and a model under test; judge them turn by turn."""
    from rubricate.rubrics.contract.loader import load_rubric
    from rubricate.rubrics.evaluation.converse import converse as run_conversations, plan_conversations
    from rubricate.rubrics.llm import open_cache
    from rubricate.rubrics.llm.vendors import same_family_warning
    o = _llm_kwargs(kw)
    model_ep = _endpoint_config(o)
    client_ep = _endpoint_config({**o, "llm_model": client_model, "base_url": client_base_url or o.get("base_url"),
                                  "api_key_env": client_api_key_env or o.get("api_key_env"),
                                  "temperature": client_temperature if client_temperature is not None
                                  else o.get("temperature")})
    judge_ep = None
    if judge in ("llm", "ensemble"):
        if not judge_model:
            raise click.UsageError("--judge llm/ensemble needs --judge-model")
        judge_ep = _endpoint_config({**o, "llm_model": judge_model, "base_url": judge_base_url or o.get("base_url"),
                                     "api_key_env": judge_api_key_env or o.get("api_key_env")})
        warning = same_family_warning(client_ep.model, judge_ep.model)
        if warning:
            echo(f"warning: {warning}", err=True)
    cache = open_cache(o.get("cache_dir"), o.get("no_cache", False))
    rubric = load_rubric(rubric_ref)
    prompt = _system_prompt(system_prompt)
    tellings = ("explicit", "implicit") if telling == "both" else (telling,)
    plans = plan_conversations(rubric, model_ep.model, prompt, conversations, personas, tellings)
    out = out or _ws("conversations")
    transcripts = out / "transcripts.jsonl"
    on_interrupt(lambda: f"interrupted; every completed turn is kept in {transcripts}; re-run the same command "
                         "to continue")
    finished = [0]

    def event(kind: str, t, detail: str) -> None:
        if kind == "done":
            finished[0] += 1
            end = "the client ended it" if detail == "client" else "turn limit"
            echo(f"[{finished[0]}/{len(plans)}] {t.conversation_id}: {len(t.turns)} turns ({end})", err=True)
        elif kind == "failed":
            echo(f"stopped {t.conversation_id} after turn {len(t.turns)}: {detail}", err=True)

    counts, stats = run_conversations(plans, client_ep, model_ep, transcripts, max_turns=turns, system_prompt=prompt,
                                      rubric_id=rubric.id, cache=cache, on_event=event)
    echo(f"{rubric.id}: {counts.conversations} conversations ({counts.already_complete} already complete), "
               f"{counts.turns_before} turns kept, {counts.turns_written} written, "
               f"{counts.ended_by_client} ended by the client; transcripts: {transcripts}")
    for side in ("client", "model"):
        note = _concurrency_suffix((stats.get(side) or {}).get("concurrency"))
        if note:
            echo(f"[{side}] " + note[2:], err=True)
    for cause, n in counts.errors.items():
        echo(f"error: {n} call(s) failed: {cause}", err=True)
    if counts.failed:
        echo(f"error: {counts.failed} conversation(s) stopped early; re-run the same command to continue "
                   "them (nothing is judged until all are complete)", err=True)
        ctx.exit(EXIT_FAILED)
    if judge == "none":
        return
    _judge_conversations(rubric, transcripts, out / "results", judge, judge_ep, cache, resume=True)


def _judge_conversations(rubric, transcripts: Path, results: Path, judge: str, endpoint, cache,
                         resume: bool) -> None:
    """Judge a transcripts file into ``results`` and print what was found; exit 1 if nothing was judged."""
    from rubricate.rubrics.evaluation.conversation_summary import summary_lines
    from rubricate.rubrics.evaluation.conversations import judge_conversations, make_conversation_judges
    judges = make_conversation_judges(judge, rubric, endpoint, cache)
    _interrupt_note_for(results)
    summary = judge_conversations(rubric, transcripts, results, judges, resume=resume)
    for line in summary_lines(summary):
        echo(line)
    for p in (summary.get("skipped_input") or {}).get("first", []):
        echo(f"warning: {transcripts}:{p['line']}: skipped: {p['message']}", err=True)
    echo(f"results: {results}/verdicts.jsonl, {results}/summary.json")
    failed = summary.get("failed") or {"count": 0, "by_cause": {}}
    for cause, n in failed["by_cause"].items():
        echo(f"error: {n} LLM judgement(s) failed: {cause}", err=True)
    if summary["verdicts"] == 0:
        echo(f"error: {transcripts}: no conversation was judged", err=True)
        sys.exit(EXIT_FAILED)
    if failed["count"]:
        echo("error: some judgements failed; re-run to ask them again", err=True)
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Compiled rubric JSON (default: rubrics/rubricate-default.json).")
@click.option("--responses", "responses_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Responses as JSONL, CSV or Parquet (item_id or stimulus_id, model, response).")
@click.option("--shards", multiple=True, metavar="GLOB|URL",
              help="JSONL or Parquet shards to judge as a sharded run instead of --responses (repeatable; globs, local "
                   "paths or fsspec URLs such as s3://bucket/logs/*.jsonl).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Sharded runs: judge the shards in this process (local) or on a Dask cluster.")
@click.option("--address", default=None, metavar="tcp://HOST:8786",
              help="Dask scheduler to use (default: start a local cluster of --workers processes).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet"]), default="jsonl", show_default=True,
              help="Sharded runs: write verdicts/part-NNNNN.jsonl or .parquet (needs rubricate[parquet]).")
@click.option("--judge", type=_Names("rubricate.rubrics.evaluation.judges", "JUDGES"), default="rules",
              show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Results folder (verdicts.jsonl, summary.json, run.json; default: out/results in the "
                   "workspace); a sharded run may also write to an fsspec URL.")
@click.option("--strict", is_flag=True, help="Stop at the first bad input record instead of skipping it.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run in --out without repeating "
              "verdicts; judgements that failed are asked again.")
@click.option("--retry-errors", is_flag=True, help="Ask again only the judgements that failed in --out.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Processes for the offline judge (verdicts are identical to one process).")
@llm_options
@batch_options
def evaluate(rubric_path, responses_path, shards, engine, address, fmt, judge, out, strict, resume, retry_errors,
             workers, **kw):
    """Judge every response against its item's criteria; append verdicts; write a summary."""
    from rubricate.rubrics.evaluation.evaluate import evaluate as run_eval
    out = out or str(_ws("results"))
    from rubricate.rubrics.contract.loader import load_rubric
    from rubricate.rubrics.evaluation.judges import make_judge
    if shards or engine != "local":
        return _evaluate_sharded(rubric_path, responses_path, shards, engine, address, judge, out, strict, resume,
                                 workers, kw, fmt)
    if fmt != "jsonl":
        raise click.UsageError("--format parquet is for sharded runs (--shards); a single run writes verdicts.jsonl")
    if responses_path is None:
        raise click.UsageError("give --responses FILE (or --shards GLOB for a sharded run)")
    if not responses_path.is_file():
        raise click.BadParameter(f"file {str(responses_path)!r} does not exist", param_hint="--responses")
    if rubric_path is not None and not rubric_path.is_file():
        raise click.BadParameter(f"file {str(rubric_path)!r} does not exist", param_hint="--rubric")
    out = Path(out)
    llm, max_failure_rate = _judge_options(judge, kw)  # options first: the endpoint before any work
    rubric = load_rubric(rubric_path)
    if rubric.personas and not rubric.items:  # a conversations rubric: the responses are transcripts
        from rubricate.rubrics.llm import open_cache
        from rubricate.rubrics.llm.vendors import same_family_warning
        endpoint = llm.get("endpoint")
        if endpoint is not None:
            from rubricate.rubrics.evaluation.conversations import read_conversations
            clients = {c.metadata.get("client_model") for c in read_conversations(responses_path, rubric)[0]}
            for client in sorted(c for c in clients if c):
                warning = same_family_warning(client, endpoint.model)
                if warning:
                    echo(f"warning: {warning}", err=True)
        cache = open_cache(llm.get("cache_dir"), llm.get("no_cache", False)) if endpoint is not None else None
        return _judge_conversations(rubric, responses_path, out, judge, endpoint, cache, resume=resume)
    with make_judge(judge, rubric, workers=workers, **llm) as judges:
        bar, tick = _progress("judging", _count_lines(responses_path))
        _interrupt_note_for(out)
        try:
            summary = run_eval(rubric, responses_path, out, judges, strict=strict, resume=resume,
                               retry_errors=retry_errors, progress=tick)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    for line in _summary_lines(summary) + _llm_stats_lines(judges):
        echo(line)
    echo(f"results: {out}/verdicts.jsonl, {out}/summary.json")
    _exit_if_failed(summary, responses_path, max_failure_rate)


def _concurrency_suffix(course) -> str:
    """'; concurrency auto: settled at N (...)' when the limiter adapted, else ''."""
    if not course:
        return ""
    from rubricate.rubrics.llm.limiter import concurrency_note
    note = concurrency_note(course)
    return f"; {note}" if note else ""


def _llm_stats_lines(judges) -> list[str]:
    """Requests sent per call (retries included) of each LLM judge: bounded, and shown."""
    members = getattr(judges, "members", None)
    if not isinstance(members, dict):  # one judge, or repeats of one (a list of members)
        members = {getattr(judges, "name", "judge"): judges}
    lines = []
    for name, judge in members.items():
        st = getattr(judge, "stats", None)
        if st is None or not getattr(st, "calls", 0):
            continue
        lines.append(f"[{name}] {st.calls} calls, {st.requests} requests ({st.requests / st.calls:.3f} per call), "
                     f"{st.retries} retries, {st.cache_hits} cache hits"
                     + (f"; cache disabled: {st.cache_disabled}" if st.cache_disabled else "")
                     + _concurrency_suffix(getattr(st, "concurrency", None)))
    return lines


LLM_JUDGES = ("llm", "ensemble", "cascade")  # the registered judges that call a model


def _judge_options(judge: str, kw: dict) -> tuple[dict, float]:
    """The judge's options from the CLI's (popped from ``kw``), the endpoint built and
    checked (and announced) when the judge calls a model (or --model is given); and
    --max-failure-rate."""
    llm = _llm_kwargs(kw)
    rate = llm.pop("max_failure_rate", 0.5)
    audit = llm.pop("audit_rate", 0.0)
    if audit and judge != "cascade":
        raise click.UsageError("--audit-rate applies to --judge cascade")
    if judge == "cascade":
        llm["audit_rate"] = audit
    if judge in LLM_JUDGES or llm.get("llm_model"):  # a plug-in judge gets the options as given
        llm["endpoint"] = _endpoint_config(llm)
    return llm, rate


def _interrupt_note_for(results: Path) -> None:
    def note() -> str:
        from rubricate.rubrics.evaluation.results import ResultsDir
        path = ResultsDir(Path(results)).verdicts
        n = 0
        if path.exists():
            with open(path, "rb") as fh:
                n = sum(1 for line in fh if line.endswith(b"\n"))
        return f"interrupted; {n} verdicts kept in {results}; continue with --resume"
    on_interrupt(note)


def _exit_if_failed(summary: dict, responses_path: Path, max_failure_rate: float) -> None:
    """Exit 1, with one line per cause and one line saying what to do, when nothing was
    judged, every LLM judgement failed, or more than ``max_failure_rate`` of them did."""
    failed = summary.get("failed") or {"count": 0, "by_cause": {}}
    if summary["verdicts"] == 0 and not failed["count"]:
        skipped = summary.get("skipped_input") or {"count": 0, "first": []}
        first = skipped["first"][0] if skipped["first"] else None
        why = f" (first: line {first['line']}: {first['message']})" if first else ""
        echo(f"error: {responses_path}: no valid response line to judge; {skipped['count']} "
                   f"line(s) skipped{why}", err=True)
        sys.exit(EXIT_FAILED)
    llm_verdicts = (summary.get("verdicts_by_judge") or {}).get("llm", 0) + sum(
        (c.get("decided_by") or {}).get("llm", 0) for c in (summary.get("cascade") or {}).values())
    unreadable = (summary.get("flags") or {}).get("judge-unparseable", 0)
    asked = llm_verdicts + failed["count"]
    for cause, n in failed["by_cause"].items():
        echo(f"error: {n} LLM judgement(s) failed: {cause}", err=True)
    if unreadable:
        echo(f"warning: {unreadable} judge repl{'y' if unreadable == 1 else 'ies'} could not be "
                   "read as an answer (verdict unknown)", err=True)
    bad = failed["count"] + unreadable
    if asked and (bad == asked or bad > max_failure_rate * asked):
        what = f"all {asked}" if bad == asked else \
            f"{bad} of {asked} ({bad / asked:.0%}, more than {max_failure_rate:.0%})"
        echo(f"error: {what} LLM judgements failed; fix the cause above, then continue with "
                   "--resume (or --retry-errors to ask only the failed ones)", err=True)
        sys.exit(EXIT_FAILED)
    if failed["count"]:
        echo(f"warning: {failed['count']} LLM judgement(s) failed and are not counted; "
                   "ask them again with --retry-errors", err=True)


def _evaluate_sharded(rubric_path, responses_path, shards, engine, address, judge, out, strict, resume, workers, kw,
                      fmt="jsonl"):
    """`evaluate --shards ... [--engine dask]`: the sharded driver (rubrics/evaluation/shards.py); with
    --judge cascade the shards' uncertain verdicts go to the LLM judge from the driver."""
    from contextlib import ExitStack, nullcontext
    from rubricate.rubrics.contract.loader import DEFAULT_RUBRIC, load_rubric
    from rubricate.rubrics.evaluation.shards import run_sharded, serial_map
    if judge not in ("rules", "cascade"):
        raise click.UsageError("sharded runs use the offline judge (--judge rules) or the cascade (--judge cascade)")
    if judge == "cascade" and fmt == "parquet":
        raise click.UsageError("--format parquet does not combine with --judge cascade yet (its verdict parts are JSONL)")
    llm_options, max_failure_rate = _judge_options(judge, kw)
    patterns = list(shards) + ([str(responses_path)] if responses_path else [])
    if not patterns:
        raise click.UsageError("give --shards GLOB|URL (or --responses FILE)")
    if workers < 1:
        raise click.BadParameter("must be at least 1", param_hint="--workers")
    if engine == "dask":
        from rubricate.rubrics.evaluation.dask_engine import dask_mapper
        ctx = dask_mapper(address, workers)
    else:
        ctx = nullcontext((serial_map, {"engine_address": None, "engine_workers": 1}))

    def progress(r) -> None:
        echo(f"shard {r.index}: {r.responses} responses, {r.verdicts} verdicts, {r.problems} problems "
                   f"in {r.seconds:.1f}s ({r.source})", err=True)

    with ExitStack() as stack:
        llm = None
        if judge == "cascade":
            from rubricate.rubrics.evaluation.llm_judge import LLMJudge
            audit_rate = llm_options.pop("audit_rate", 0.0)
            if llm_options.pop("repeats", 1) > 1:
                raise click.UsageError("--repeats does not combine with the cascade judge")
            if llm_options.get("batch") and "://" in str(out):
                raise click.UsageError("--batch keeps its batch ledger in --out: give a local folder")
            llm = stack.enter_context(LLMJudge(load_rubric(rubric_path), **llm_options))
            llm.bind_results(Path(out))
        mapper, info = stack.enter_context(ctx)
        summary = run_sharded(patterns, out, Path(rubric_path or DEFAULT_RUBRIC), mapper=mapper, engine=engine,
                              resume=resume, strict=strict, fmt=fmt, progress=progress, engine_info=info, llm=llm,
                              **({"audit_rate": audit_rate, "audit_seed": llm.endpoint.seed or 0} if llm else {}))
    for line in _summary_lines(summary):
        echo(line)
    echo(f"results: {out}/verdicts/, {out}/summary.json")
    if summary["verdicts"] == 0:
        echo("error: no response was judged", err=True)
        sys.exit(1)


@main.command("runs")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path), required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def runs_(folder, fmt):
    """List the evaluation runs under FOLDER (default: the workspace; newest first): id, time, rubric, judge, models, rate."""
    import json as _json
    from rubricate.guidelines.kernel.workspace import workspace_root
    from rubricate.rubrics.evaluation.runs import render_runs, run_rows
    rows = run_rows(folder or workspace_root())
    echo(_json.dumps(rows, indent=2) if fmt == "json" else render_runs(rows), nl=fmt == "json")


@main.command()
@click.argument("base", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("new", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--judge", "judge_name", default=None, help="Judge to compare when the runs had several.")
@click.option("--allow-different-judges", is_flag=True,
              help="Compare runs judged by different judges or judge versions (differences may be the judge's).")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The rubric both runs used (default: the one NEW's run.json names).")
@click.option("--correction", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Multiple-comparison adjustment within each level (Holm; Benjamini-Hochberg).")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level.")
@click.option("--max-drop", type=float, default=0.05, show_default=True,
              help="Smallest drop in appropriate rate (0-1) that counts as a regression.")
@click.option("--gate-on", "gate_on", multiple=True, type=_Names("rubricate.rubrics.evaluation.compare", "LEVELS"),
              help="Levels the gate looks at (repeatable; default: criterion).")
@click.option("--decisive-only", is_flag=True, help="Gate on decisive (critical/major) criteria only.")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when the gate finds a significant regression.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write compare.json, compare.md and compare.html here.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
def compare(base, new, judge_name, allow_different_judges, rubric_path, correction, alpha, max_drop, gate_on,
            decisive_only, fail_on_regression, out, fmt):
    """Compare run NEW against run BASE: per-criterion, item, condition and principle rates with
    paired differences, exact tests and a regression gate."""
    import json as _json
    from rubricate.rubrics.evaluation.compare import compare_runs, gate_line
    from rubricate.rubrics.report.compare_page import render_markdown, render_text, write_outputs
    cmp = compare_runs(base, new, judge=judge_name, allow_different_judges=allow_different_judges,
                       rubric_path=rubric_path, correction=correction, alpha=alpha, max_drop=max_drop,
                       gate_levels=gate_on or ("criterion",), decisive_only=decisive_only)
    if out is not None:
        paths = write_outputs(cmp, cmp.rubric, out)
    if fmt == "json":
        echo(_json.dumps(cmp.to_dict(), indent=2, sort_keys=True, default=str))
    elif fmt == "markdown":
        echo(render_markdown(cmp), nl=False)
    else:
        echo(render_text(cmp), nl=False)
    if out is not None:
        echo(f"written: {paths['html']}, {paths['markdown']}, {paths['json']}", err=True)
    if fail_on_regression and cmp.regressions:
        echo(gate_line(cmp), err=True)
        sys.exit(1)


@main.command()
@click.argument("results", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--reference", required=True, help="Response column holding the reference answer "
              "(e.g. reference_answer from `rubricate import moore2025`).")
@click.option("--judge", "judge_name", default=None, help="Judge to compare when the run had several.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def agreement(results, reference, judge_name, fmt):
    """Agreement of a run's judge with a reference column: accuracy, kappa, macro F1, confusion."""
    import json as _json
    from rubricate.rubrics.evaluation.judge_agreement import judge_agreement, render
    s = judge_agreement(results, reference, judge_name)
    echo(_json.dumps(s, indent=2) if fmt == "json" else render(s), nl=fmt == "json")


@main.command()
@click.option("--results", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The run whose responses are labelled (default: out/results in the workspace, else its newest run).")
@click.option("--labels", "log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append-only label file (default: RESULTS/labels.jsonl).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--sample", type=click.IntRange(1), default=None,
              help="Label a seeded random sample of this many responses instead of all.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rubric, if it moved since the run (default: the one recorded in run.json).")
@click.option("--responses", "responses_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Responses file, if it moved since the run.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the label file `calibrate` reads (current yes/no labels) and exit, serving nothing.")
def label(results, log, port, sample, seed, rubric_path, responses_path, export_path):
    """Serve a local labelling page: one response and criterion at a time, yes / no / skip."""
    from rubricate.rubrics.evaluation.labels import LABEL_LOG, export_labels
    from rubricate.rubrics.evaluation.runs import default_results
    from rubricate.rubrics.labelling.app import bind, serve
    from rubricate.rubrics.labelling.session import open_session
    results = results or default_results(_ws("run"))
    if export_path:
        src = log or results / LABEL_LOG
        if not src.is_file():
            raise RubricateError("no labels yet", path=str(src))
        n = export_labels(src, export_path)
        echo(f"{n} label(s) written to {export_path}")
        return
    session = open_session(results, log, rubric_path, responses_path, sample, seed)
    for note in session.notes:
        echo(f"note: {note}", err=True)
    try:
        sock = bind(port)
    except OSError as exc:
        raise RubricateError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from None
    echo(f"labelling {len(session.units)} response x criterion pair(s) of {results}; labels go to {session.log}")
    echo(f"open http://127.0.0.1:{sock.getsockname()[1]}/  (Ctrl-C stops; every label is already saved)",
               nl=True)
    sys.stdout.flush()
    on_interrupt(lambda: f"stopped; labels are in {session.log}")
    serve(session, sock)


@main.command()
@click.option("--rubric", "rubric_ref", required=True, help="The rubric calibrated: a file or an id.")
@click.option("--labels", "label_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A label file (JSONL, e.g. from `rubricate label`; one source per labeller), or a results "
                   "folder whose judge's verdicts are the reference. Repeatable.")
@click.option("--reference-column", "columns", multiple=True,
              help="A response column holding a reference judge's yes/no answer (e.g. reference_answer from "
                   "`rubricate import moore2025`), read from the measured run. Repeatable.")
@click.option("--results", "results_dirs", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Results folder(s) whose judges are measured (default: out/results in the workspace, else its "
                   "newest run). Repeatable.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Calibration file (default: calibration/<rubric id>-<version>-<KB hash>.json in the workspace).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap CIs.")
@click.option("--n-resamples", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--reported-ceiling", type=click.FloatRange(-1, 1), default=None,
              help="A published kappa between people on the same kind of labels, stored as reported.")
@click.option("--reported-ceiling-source", default=None, help="Where --reported-ceiling comes from (required with it).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def calibrate(rubric_ref, label_paths, columns, results_dirs, out, seed, n_resamples, reported_ceiling,
              reported_ceiling_source, fmt):
    """Measure each judge's agreement with labels per criterion (kappa, macro F1, CIs, confusion)
    and write the rubric's calibration block, with people's agreement as the ceiling."""
    import json as _json
    from rubricate.rubrics.contract.calibration import calibration_path, write_calibration
    from rubricate.rubrics.contract.loader import load_rubric
    from rubricate.rubrics.evaluation.calibration import calibrate as run_calibration, render
    from rubricate.rubrics.evaluation.labels import load_sources, sources_from_column
    from rubricate.rubrics.evaluation.runs import default_results
    if (reported_ceiling is None) != (reported_ceiling_source is None):
        raise click.UsageError("--reported-ceiling and --reported-ceiling-source go together")
    if not label_paths and not columns:
        raise click.UsageError("give the labels: --labels FILE|RESULTS and/or --reference-column COLUMN")
    rubric = load_rubric(rubric_ref)
    target = out or calibration_path(rubric.data)
    runs = list(results_dirs) or [default_results(_ws("run"))]
    sources = load_sources(label_paths) + [sources_from_column(runs[-1], c) for c in columns]
    doc, notes = run_calibration(
        rubric, sources, runs, target,
        n_resamples=n_resamples, seed=seed,
        reported_ceiling={"kappa": reported_ceiling, "source": reported_ceiling_source}
        if reported_ceiling is not None else None)
    for note in notes:
        echo(f"note: {note}", err=True)
    write_calibration(doc, target)
    echo(_json.dumps(doc, indent=2) if fmt == "json" else render(doc), nl=fmt == "json")
    echo(f"calibration: {target}", err=fmt == "json")


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for kb/, rubrics/, results/ and report/ (default: out in the workspace).")
@click.option("--responses", "responses_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Responses to score (default: the bundled samples).")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Use this compiled rubric instead of building and compiling.")
@click.option("--judge", type=_Names("rubricate.rubrics.evaluation.judges", "JUDGES"), default="rules",
              show_default=True)
@llm_options
def run(out, responses_path, rubric_path, judge, **kw):
    """The main job: build the knowledge base, compile, evaluate, report."""
    import time
    from rubricate.rubrics.pipeline import DEFAULT_RESPONSES, run_main
    from rubricate.rubrics.evaluation.judges import make_judge
    llm, max_failure_rate = _judge_options(judge, kw)  # options first: before the 7 s of building
    t0 = time.monotonic()

    def step(label: str) -> None:
        echo(f"[{time.monotonic() - t0:5.1f}s] {label} ...", err=True)

    def judged(summary: dict) -> None:  # before the report: a run that judged nothing has none
        _exit_if_failed(summary, responses_path or DEFAULT_RESPONSES, max_failure_rate)

    bar, tick = _progress("  judging", _count_lines(responses_path) if responses_path else None)
    run_out = out or _ws("run")
    on_interrupt(lambda: f"interrupted; the verdicts so far are kept in the newest folder under {run_out / 'runs'}")
    try:
        r = run_main(run_out, responses_path, rubric_path, lambda rub: make_judge(judge, rub, **llm), step, tick,
                     check=judged)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    echo("")
    for line in _summary_lines(r.summary):
        echo(line)
    for note in r.notes:
        echo(f"note: {note}")
    echo(f"\nrubric:  {r.rubric}\nresults: {r.results}\nreport:  {r.report['html']}")
    from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
    first = next((v["verdict_id"] for v in iter_jsonl(ResultsDir(r.results).verdicts)
                  if v["appropriate"] is False), None)
    if first:
        echo(f"next:    open the report, or follow a failure back to its guideline passages:\n"
                   f"         rubricate trace {first} --results {r.results}")


@main.command()
@click.argument("verdict_id")
@click.option("--results", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Results folder of the run (default: out/results in the workspace, else its newest run under out/runs).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rubric to resolve the criterion in (default: the one the run used).")
@click.option("--open", "open_page", is_flag=True,
              help="Also write RESULTS/trace/VERDICT.html: response with evidence spans, criterion, cited "
                   "passages, each PDF citation linked to its page of the registered file.")
def trace(verdict_id, results, fmt, rubric_path, open_page):
    """Follow a verdict back to its guideline passages: response, criterion, principle, and per
    citation the document, edition, file (path in the workspace, SHA-256), page, section and quote."""
    import json as _json
    from rubricate.rubrics.evaluation.runs import default_results
    from rubricate.rubrics.evaluation.trace import render_text, trace as run_trace
    results = results or default_results(_ws("run"))
    t = run_trace(results, verdict_id, rubric_path)
    echo(_json.dumps(t, indent=2, ensure_ascii=False) if fmt == "json" else render_text(t), nl=fmt == "json")
    if open_page:
        from rubricate.rubrics.report.trace_page import write_trace_page
        echo(f"page: {write_trace_page(t, Path(results) / 'trace')}", err=True)


@main.command()
@click.argument("results", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for report.html, report.md and the plots (default: RESULTS/report).")
@click.option("--rubric", "rubric_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Rubric to read criteria and passages from (default: the one recorded in RESULTS/run.json).")
@click.option("--responses", "responses_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Responses file, if it moved since the run (default: the one recorded in run.json).")
@click.option("--max-failures", type=click.IntRange(min=0), default=200, show_default=True,
              help="Failure sections in the HTML report (most severe first).")
@click.option("--calibration", "calibration_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The rubric's calibration file (default: the workspace's, from `rubricate calibrate`).")
@click.option("--min-kappa", type=click.FloatRange(-1, 1), default=0.6, show_default=True,
              help="Grey out criterion rates whose judge agrees with the labels below this kappa.")
def report(results, out, rubric_path, responses_path, max_failures, calibration_path, min_kappa):
    """Write a self-contained HTML report, a Markdown summary and plots of a results folder."""
    from rubricate.rubrics.evaluation.conversations import is_conversation_run
    if is_conversation_run(results):  # conversations: transcripts with failing turns, survival curves
        from rubricate.rubrics.report.conversation_page import write_conversation_report
        paths = write_conversation_report(results, out, rubric_path, responses_path, max_failures)
        for key, path in paths.items():
            echo(f"{key if key in ('html', 'markdown') else 'plot'}: {path}")
        return
    from rubricate.rubrics.report import load_report_data, write_report_data
    data = load_report_data(results, rubric=rubric_path, responses=responses_path, max_failures=max_failures,
                            calibration=calibration_path, min_kappa=min_kappa)
    for w in data.warnings:
        echo(f"warning: {w}", err=True)
    paths = write_report_data(data, out or data.results_dir / "report")
    echo(f"failures: {data.n_failures:,} ({len(data.failures):,} detailed in the HTML report)")
    for key in ("html", "markdown"):
        echo(f"{key}: {paths[key]}")
    for key, path in paths.items():
        if key not in ("html", "markdown"):
            echo(f"plot: {path}")


# ---- LLM judge, respond, stigma ------------------------------------------------------------

# stigma (Experiment 1 of Moore et al. 2025; rubrics/stigma*.py, compiler/stigma.py)
@main.group()
def stigma() -> None:
    """Stigma vignettes (principle dont-stigmatize): probe a model, score its answers."""


@stigma.command("score")
@click.argument("outputs", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False),
              help="Human baseline CSV (rows: questions, columns: conditions, percent).")
@click.option("--baseline-scale", type=_Names("rubricate.rubrics.stigma.baseline", "SCALES"),
              default="reported", show_default=True,
              help="reported: rows give percent expressing stigma for stigma questions "
                   "(the 2018 file); agreement: every row gives percent agreeing.")
@click.option("--instrument", default="auto", show_default=True,
              help="auto | default | moore2025 | a compiled stigma rubric PATH.json | "
                   "an instrument PATH.yaml")
@click.option("--anchor", type=click.Path(path_type=Path, file_okay=False),
              envvar="RUBRICATE_ANCHOR", help="Study release folder (for moore2025).")
@click.option("--parser", type=_Names("rubricate.rubrics.stigma.score", "PARSERS"), default="tolerant",
              show_default=True, help="moore2025 reads only a letter at the start, as the study.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the scores and figures (default: results/stigma in the workspace).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="What to print on stdout.")
@click.option("--strict", is_flag=True, help="Stop at the first bad line instead of skipping it.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--n-resamples", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--no-plot", is_flag=True, help="Do not draw the PNG/SVG figures.")
def stigma_score(outputs: Path, baseline: Path | None, baseline_scale: str, instrument: str,
                 anchor: Path | None, parser: str, out: Path, fmt: str, strict: bool,
                 seed: int, n_resamples: int, no_plot: bool) -> None:
    """Code OUTPUTS (JSONL of model answers) by the stigma rubric's questions as the study
    did; write and print the rates."""
    from rubricate.rubrics.stigma.report import score_and_write, to_csv, to_json, to_table

    summary, run, written = score_and_write(
        outputs, out or _ws("stigma"), instrument=instrument, anchor=anchor, baseline=baseline,
        baseline_scale=baseline_scale, parser=parser, strict=strict,
        n_resamples=n_resamples, seed=seed, plot=not no_plot)
    for problem in run.problems[:10]:
        echo(f"warning: skipped {problem}", err=True)
    if len(run.problems) > 10:
        echo(f"warning: ... {len(run.problems) - 10} more bad lines skipped", err=True)
    echo({"table": to_table, "json": to_json, "csv": to_csv}[fmt](summary), nl=False)
    echo(f"wrote {len(written)} files to {out or _ws('stigma')} ({len(run.rows)} outputs scored, "
               f"{len(run.problems)} lines skipped)", err=True)


@stigma.command("probe")
@click.option("--instrument", default="default", show_default=True,
              help="default (the compiled rubrics/rubricate-stigma.json) | moore2025 | "
                   "a compiled stigma rubric PATH.json | an instrument PATH.yaml")
@click.option("--anchor", type=click.Path(path_type=Path, file_okay=False),
              envvar="RUBRICATE_ANCHOR", help="Study release folder (for moore2025).")
@click.option("--system-prompt", default="none", show_default=True,
              help="none | therapist (compiled from the ontology) | FILE")
@click.option("--samples", type=click.IntRange(1), default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Outputs JSONL (appended to; a re-run sends only what is missing).")
@endpoint_options
@click.pass_context
def stigma_probe(ctx: click.Context, instrument: str, anchor: Path | None, system_prompt: str,
                 samples: int, out: Path, **kw) -> None:
    """Ask a model every item (vignette x question) of the stigma rubric; append its answers to --out."""
    from rubricate.rubrics.stigma.rubric import load_stigma_rubric
    from rubricate.rubrics.stigma.probe import run_probe

    stigma = load_stigma_rubric(instrument, anchor)
    prompt = _system_prompt(system_prompt)  # a bad prompt file is refused before the endpoint line
    endpoint, cache = _endpoint(kw)
    _replies_note(out)
    counts = run_probe(stigma, endpoint, out, system_prompt=prompt, samples=samples,
                       cache=cache)
    _report_counts(ctx, stigma.instrument.id, counts, out)


if __name__ == "__main__":
    program()
