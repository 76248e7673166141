"""`rubricate guidelines fetch` against a real HTTP server on 127.0.0.1 that the test starts:
generated PDFs, a redirect to an HTML login page, cut-off transfers (resumed with a range
request, or refused), a file whose hash changed, a refused connection and a timeout."""
from __future__ import annotations

import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.kernel.workspace import using_workspace

DOC = "national_institute_for_health_and_care_excellence_obsessive-compulsive_2005"
OTHER = "american_psychological_association_ethical_2017"
HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>user</form></body></html>"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    pdfgen = pytest.importorskip("tests.pdfgen")
    d = tmp_path_factory.mktemp("pdfs")
    one = pdfgen.write_pdf(pdfgen.synthetic_sections(2, 2, 2), d / "one.pdf").path.read_bytes()
    two = pdfgen.write_pdf(pdfgen.synthetic_sections(2, 2, 2, title="A Revised Synthetic Guideline"),
                           d / "two.pdf").path.read_bytes()
    return one, two


class Server:
    """Serves the cases by path; counts requests and records Range headers."""

    def __init__(self, one: bytes, two: bytes) -> None:
        self.one, self.two = one, two
        self.versioned = one  # what /versioned.pdf serves now
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 (http.server's name)
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                getattr(server, "case_" + self.path.strip("/").split(".")[0].replace("-", "_"),
                        server.case_missing)(self, rng)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def send(h, body: bytes, status: int = 200, ctype: str = "application/pdf", length: int | None = None,
             headers: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def ranged(self, h, data: bytes, rng: str | None) -> None:
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send(h, data[start:], 206, headers={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}",
                                                     "ETag": '"v1"'})
        else:
            self.send(h, data, headers={"ETag": '"v1"'})

    def case_doc(self, h, rng):
        self.ranged(h, self.one, rng)

    def case_versioned(self, h, rng):
        self.send(h, self.versioned)

    def case_login(self, h, rng):  # a PDF link that sends you to a sign-in page
        h.send_response(302)
        h.send_header("Location", "/signin")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def case_signin(self, h, rng):
        self.send(h, HTML, ctype="application/pdf")  # the header lies; the bytes do not

    def case_cut_once(self, h, rng):  # the first transfer stops half-way; ranges are honoured
        if rng is None:
            half = len(self.one) // 2
            self.send_partial(h, self.one, half)
        else:
            self.ranged(h, self.one, rng)

    def case_always_cut(self, h, rng):  # every transfer stops half-way and ranges are ignored
        self.send_partial(h, self.one, len(self.one) // 2)

    def case_slow(self, h, rng):
        time.sleep(3)
        self.send(h, self.one)

    def case_missing(self, h, rng):
        self.send(h, b"not here", 404, ctype="text/plain")

    @staticmethod
    def send_partial(h, data: bytes, n: int) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("ETag", '"v1"')
        h.end_headers()
        h.wfile.write(data[:n])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture()
def server(pdfs):
    s = Server(*pdfs)
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture()
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RUBRICATE_REGISTRY", raising=False)
    monkeypatch.delenv("RUBRICATE_SOURCES", raising=False)
    return tmp_path / "ws"


def fetch(ws: Path, *args: str):
    return CliRunner().invoke(main, ["--workspace", str(ws), "guidelines", "fetch", *args])


def one_line_error(res) -> str:
    lines = [l for l in res.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1, res.stderr
    return lines[0]


def nothing_written(ws: Path) -> None:
    assert not (ws / "registry.yaml").exists()
    assert not [p for p in (ws / "sources").glob("*")] if (ws / "sources").exists() else True


def registered(ws: Path, doc_id: str) -> list[dict]:
    data = yaml.safe_load((ws / "registry.yaml").read_text(encoding="utf-8"))
    doc = next(d for d in data["documents"] if d["id"] == doc_id)
    return [f for f in doc["files"] if f.get("role", "source") == "source"]


def test_fetch_registers_the_pdf_as_source_edition_with_its_provenance(ws, server, pdfs):
    res = fetch(ws, DOC, "--url", f"{server.url}/doc.pdf")
    assert res.exit_code == 0, res.output
    files = registered(ws, DOC)
    assert len(files) == 1
    f = files[0]
    sha = hashlib.sha256(pdfs[0]).hexdigest()
    assert f["sha256"] == sha and f["size"] == len(pdfs[0]) and f["url"] == f"{server.url}/doc.pdf"
    assert f["path"] == f"sources/{DOC}-{sha[:12]}.pdf" and f["retrieved"].endswith("+00:00")
    assert (ws / f["path"]).read_bytes() == pdfs[0]
    assert str(ws) not in (ws / "registry.yaml").read_text()
    assert f"added (" in res.stdout and sha[:12] in res.stdout
    # the URL given is remembered as the document's public PDF
    data = yaml.safe_load((ws / "registry.yaml").read_text(encoding="utf-8"))
    assert next(d for d in data["documents"] if d["id"] == DOC)["pdf_url"] == f"{server.url}/doc.pdf"
    # fetching again: the same bytes are "unchanged", nothing new on disk
    res = fetch(ws, DOC)
    assert res.exit_code == 0, res.output
    assert "unchanged" in res.stdout and len(list((ws / "sources").iterdir())) == 1
    # the knowledge base records the download as a PROV activity that generated the file
    from rubricate.ontology.kb import build
    from rubricate.ontology.namespaces import PROV, RBC, RDF, XSD
    from rdflib import Literal, URIRef
    with using_workspace(ws):
        g = build(out=None).graph
    acts = list(g.subjects(RDF.type, RBC.Retrieval))
    assert len(acts) == 1
    a = acts[0]
    assert (a, PROV.used, URIRef(f"{server.url}/doc.pdf")) in g
    generated = g.value(a, PROV.generated)
    assert str(g.value(generated, RBC.sha256)) == sha
    assert g.value(generated, RBC.byteSize).toPython() == len(pdfs[0])
    assert g.value(a, PROV.endedAtTime).datatype == XSD.dateTime


def test_fetch_without_ids_lists_documents_that_need_the_users_copy(tmp_path, server, pdfs, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    reg = tmp_path / "registry.yaml"  # a registry of its own: no request leaves this machine
    reg.write_text(
        "documents:\n"
        f"  - {{id: public-one, title: A public synthetic guideline, kind: other, pdf_url: '{server.url}/doc.pdf'}}\n"
        f"  - {{id: login-one, title: Behind a sign-in page, kind: other, url: '{server.url}/login.pdf'}}\n"
        "  - {id: a-book, title: A copyrighted manual, kind: therapy-manual, licence: Copyrighted book}\n",
        encoding="utf-8")
    res = CliRunner().invoke(main, ["--workspace", str(tmp_path / "ws"), "guidelines", "fetch",
                                    "--registry", str(reg)])
    assert res.exit_code == 1  # one of the two failed
    copy_line = [l for l in res.stdout.splitlines() if l.startswith("need your own copy")]
    assert len(copy_line) == 1 and "a-book" in copy_line[0] and "public-one" not in copy_line[0]
    assert "rubricate guidelines add FILE --id ID" in copy_line[0]
    assert "public-one:" in res.stdout and "added" in res.stdout
    assert "login-one" in one_line_error(res)
    assert "1 of 2 document(s) not fetched" in res.stderr
    data = yaml.safe_load(reg.read_text(encoding="utf-8"))
    f = data["documents"][0]["files"][0]
    assert f["sha256"] == hashlib.sha256(pdfs[0]).hexdigest() and f["path"].startswith("sources/public-one-")
    assert (tmp_path / f["path"]).is_file()
    assert not data["documents"][1].get("files")


def test_redirect_to_an_html_login_page_is_refused(ws, server):
    res = fetch(ws, DOC, "--url", f"{server.url}/login.pdf")
    assert res.exit_code == 1
    line = one_line_error(res)
    assert "redirected to" in line and "/signin" in line and "HTML page" in line and "nothing written" in line
    nothing_written(ws)


def test_a_cut_off_transfer_is_resumed_with_a_range_request(ws, server, pdfs):
    res = fetch(ws, DOC, "--url", f"{server.url}/cut-once.pdf")
    assert res.exit_code == 0, res.output
    ranges = [r for p, r in server.requests if p == "/cut-once.pdf"]
    assert ranges[0] is None and ranges[1] == f"bytes={len(pdfs[0]) // 2}-"
    f = registered(ws, DOC)[0]
    assert (ws / f["path"]).read_bytes() == pdfs[0]
    assert not list((ws / "sources").glob(".*"))  # no partial file left


def test_a_transfer_that_keeps_breaking_leaves_nothing(ws, server, pdfs):
    res = fetch(ws, DOC, "--url", f"{server.url}/always-cut.pdf")
    assert res.exit_code == 1
    line = one_line_error(res)
    assert f"of {len(pdfs[0]):,} bytes" in line and "nothing written" in line
    assert len([p for p, _ in server.requests if p == "/always-cut.pdf"]) == 3
    nothing_written(ws)


def test_a_changed_file_is_refused_until_update_then_a_new_edition(ws, server, pdfs):
    url = f"{server.url}/versioned.pdf"
    assert fetch(ws, DOC, "--url", url).exit_code == 0
    before = (ws / "registry.yaml").read_text()
    server.versioned = pdfs[1]
    res = fetch(ws, DOC)
    assert res.exit_code == 1
    line = one_line_error(res)
    new_sha, old_sha = hashlib.sha256(pdfs[1]).hexdigest(), hashlib.sha256(pdfs[0]).hexdigest()
    assert new_sha[:12] in line and old_sha[:12] in line and "--update" in line
    assert (ws / "registry.yaml").read_text() == before
    assert len(list((ws / "sources").iterdir())) == 1
    res = fetch(ws, DOC, "--update")
    assert res.exit_code == 0, res.output
    f = registered(ws, DOC)[0]
    assert f["sha256"] == new_sha
    assert f["previous"][0]["sha256"] == old_sha and f["previous"][0]["url"] == url
    assert (ws / f["previous"][0]["path"]).read_bytes() == pdfs[0]  # the earlier edition stays on disk


def test_a_pinned_hash_that_differs_is_refused(ws, server):
    res = fetch(ws, DOC, "--url", f"{server.url}/doc.pdf", "--sha256", "0" * 64)
    assert res.exit_code == 1
    assert "not the pinned 000000000000" in one_line_error(res)
    nothing_written(ws)


def test_refused_connection_timeout_and_http_error_are_one_line(ws, server):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    res = fetch(ws, DOC, "--url", f"http://127.0.0.1:{port}/doc.pdf")
    assert res.exit_code == 1 and "connection refused" in one_line_error(res)
    res = fetch(ws, DOC, "--url", f"{server.url}/slow.pdf", "--timeout", "0.5")
    assert res.exit_code == 1 and "timed out" in one_line_error(res)
    res = fetch(ws, DOC, "--url", f"{server.url}/gone.pdf")
    assert res.exit_code == 1 and "404" in one_line_error(res)
    res = fetch(ws, DOC, "--url", "ftp://127.0.0.1/doc.pdf")
    assert res.exit_code == 1 and "not an http(s) URL" in one_line_error(res)
    nothing_written(ws)


def test_a_document_without_url_says_how_to_add_it(ws):
    res = fetch(ws, "bellack_social_2004")
    assert res.exit_code == 1
    assert "guidelines add FILE --id bellack_social_2004" in one_line_error(res)
