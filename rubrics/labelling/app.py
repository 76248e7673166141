"""The labelling page served on 127.0.0.1 (Starlette + uvicorn, jinja2 templates with autoescape).

One unit at a time: the criterion's question, the stimulus conversation, the response and the
guideline passages the criterion cites; yes / no / skip by button or key (y, n, s). Each
answer is a POST that appends the label and redirects (POST-redirect-GET), so a reload never
labels twice and always shows the labeller's next unlabelled unit. Forms carry a per-server
token (another site's page cannot post labels), and a Content-Security-Policy allows only
this server's own script (the key bindings).
"""
from __future__ import annotations

import re
import secrets
import socket
from pathlib import Path
from urllib.parse import parse_qs, quote

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from rubricate.guidelines.kernel.fileio import jsonl_bytes
from rubricate.rubrics.evaluation.labels import ANSWERS, export_rows
from rubricate.rubrics.labelling.session import CHOICES, LabelSession
from rubricate.rubrics.report.templating import CSS_PATH

HOST = "127.0.0.1"
TEMPLATES = Path(__file__).with_name("templates")
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'none'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
NAME_HELP = "letters, digits, '.', '_' or '-' (up to 64), starting with a letter or digit"
MAX_FORM_BYTES = 10_000
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # label.schema.json's labeller pattern


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)  # optional rubric fields may be absent


def _valid_name(name: str) -> bool:
    return bool(NAME.fullmatch(name or ""))


def make_app(session: LabelSession) -> Starlette:
    env = _env()
    css = CSS_PATH.read_text(encoding="utf-8") + (TEMPLATES / "label.css").read_text(encoding="utf-8")
    token = secrets.token_urlsafe(16)
    keys_js = (TEMPLATES / "keys.js").read_text(encoding="utf-8")

    def page(template: str, status: int = 200, **ctx) -> HTMLResponse:
        html = env.get_template(template).render(css=css, csp=CSP, rubric=session.rubric.data, token=token,
                                             notes=session.notes, total=len(session.units), **ctx)
        return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP,
                                                               "Cache-Control": "no-store",
                                                               "Referrer-Policy": "no-referrer"})

    async def start(request: Request) -> Response:
        name = request.query_params.get("labeller", "")
        if name:
            if not _valid_name(name):
                return page("start.html.j2", 400, labellers=session.labellers(), error=f"A name is {NAME_HELP}.",
                            name=name)
            return RedirectResponse(f"/label/{quote(name)}", status_code=303)
        return page("start.html.j2", labellers=session.labellers(), error=None, name="")

    async def label_get(request: Request) -> Response:
        name = request.path_params["labeller"]
        if not _valid_name(name):
            return PlainTextResponse(f"labeller name must be {NAME_HELP}", status_code=400)
        done, nxt = session.progress(name)
        answered = sum(1 for u in session.units if done.get((u.response_id, u.criterion_id)) in ANSWERS)
        skipped = sum(1 for u in session.units if done.get((u.response_id, u.criterion_id)) == "skip")
        if nxt is None:
            return page("done.html.j2", labeller=name, answered=answered, skipped=skipped)
        return page("label.html.j2", labeller=name, v=session.view(nxt), answered=answered, skipped=skipped,
                    position=sum(1 for u in session.units if (u.response_id, u.criterion_id) in done) + 1,
                    choices=CHOICES)

    async def label_post(request: Request) -> Response:
        name = request.path_params["labeller"]
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return PlainTextResponse("form too large", status_code=413)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if not secrets.compare_digest(form.get("token", ""), token):
            return PlainTextResponse("stale or foreign form (reload the page)", status_code=403)
        if not _valid_name(name) or form.get("label") not in CHOICES:
            return PlainTextResponse("bad label", status_code=400)
        unit = session.find(form.get("response_id", ""), form.get("criterion_id", ""))
        if unit is None:
            return PlainTextResponse("no such response and criterion in this run", status_code=400)
        session.save(name, unit, form["label"])
        return RedirectResponse(f"/label/{quote(name)}", status_code=303)

    async def export(request: Request) -> Response:
        return Response(jsonl_bytes(export_rows(session.log)), media_type="application/x-ndjson",
                        headers={"Content-Disposition": 'attachment; filename="labels.jsonl"'})

    async def keys(request: Request) -> Response:
        return Response(keys_js, media_type="text/javascript", headers={"Cache-Control": "no-store"})

    return Starlette(routes=[
        Route("/", start),
        Route("/label/{labeller}", label_get, methods=["GET"]),
        Route("/label/{labeller}", label_post, methods=["POST"]),
        Route("/export", export),
        Route("/keys.js", keys),
    ])


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: any free port); only this machine can connect."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(64)
    return sock


def serve(session: LabelSession, sock: socket.socket) -> None:
    """Serve until interrupted (Ctrl-C); every label is already on disk."""
    import uvicorn  # start-up time: the server is needed only by `rubricate label`
    uvicorn.Server(uvicorn.Config(make_app(session), log_level="warning", lifespan="off")).run(sockets=[sock])
