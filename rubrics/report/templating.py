"""The one jinja2 environment of the report pages (evaluation report, comparison, conversations,
trace), their stylesheet and their Content-Security-Policy.

Why one: every page shows text written by models and by whoever made the input files, so every
page gets the same guarantees from the same place: autoescaping of everything printed, control,
bidi-override and invisible characters shown as marks like ``[U+202E]`` (never passed on), a CSP
that forbids scripts, remote loads and inline handlers (a missed escape still could not run code),
and links only for schemes that cannot run code (``safe_href``).
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from rubricate.guidelines.kernel.textsafe import mark_unsafe

TEMPLATES = Path(__file__).with_name("templates")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
CSS_PATH = Path(__file__).with_name("style.css")
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


def shown(value):
    """What a page prints for a value: strings with control and bidi characters marked."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return mark_unsafe(value)
    return value


def safe_href(url) -> str | None:
    """A link target that cannot run code: http(s) and file URLs, absolute paths as file URLs."""
    if not url:
        return None
    u = str(url).strip()
    scheme = urlsplit(u).scheme.lower()
    if scheme in ("http", "https", "file"):
        return u
    if u.startswith("/"):
        path, sep, frag = u.partition("#")
        return Path(path).as_uri() + (sep + frag if sep else "")
    return None


def anchor_id(prefix: str, *parts: str) -> str:
    """An element id (and #fragment) from data ids, joined by "_": letters, digits, "." and "-"
    are kept, anything else (an "_" too) is replaced and a short hash of the part appended, so
    two different part lists never give the same id."""
    out = []
    for part in map(str, parts):
        clean = _ANCHOR_UNSAFE.sub("-", part)
        if clean != part:
            clean += "-" + hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        out.append(clean)
    return prefix + "_".join(out)


@jinja2.pass_eval_context
def _join(eval_ctx, value, d: str = "", attribute=None):
    """jinja2's join, with each joined string marked like any printed value (the built-in
    one returns markup, which the environment's finalize would no longer look into)."""
    if attribute is not None:
        value = map(jinja2.filters.make_attrgetter(eval_ctx.environment, attribute), value)
    return jinja2.filters.do_join(eval_ctx, [shown(x) for x in value], d)


@lru_cache(maxsize=None)
def environment(undefined: type[jinja2.Undefined] = jinja2.StrictUndefined) -> jinja2.Environment:
    """The shared environment (one per kind of undefined: the trace page tolerates absent fields)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=undefined, finalize=shown)
    env.globals.update(csp=CSP)
    env.filters.update(join=_join, thousands=lambda n: f"{n:,}")
    return env


def render_page(template: str, undefined: type[jinja2.Undefined] = jinja2.StrictUndefined, **context) -> str:
    """``template`` rendered with the stylesheet inlined (pages open from disk, load nothing)."""
    css = Markup(CSS_PATH.read_text(encoding="utf-8"))
    return environment(undefined).get_template(template).render(css=css, **context)
