"""`{% cache key %}...{% endcache %}`: a rendered fragment kept in the worker's memory under `key`.

Jinja's own fragment-cache recipe (an extension around a call block), for the parts of a page that are a
pure function of a few values: an agreement field's markup depends only on its published template version,
its stored value and version, who saved it when, the placeholders and the page's mode, so a field that did
not change since the last render is not rendered again (an editor page renders 20-40 of them, about half of
its time). The key must name everything the fragment shows; a key of None renders without caching.

What is kept: `(owner, markup)`. `owner` is an object the fragment was derived from (the parsed template
definition), held so that the `id()` inside the key cannot be reused while the entry lives, and checked on
every hit. Keys never hold pair-only values: the callers leave those fragments out (None).
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

from flask import has_request_context, request
from jinja2 import nodes
from jinja2.ext import Extension

MAX_FRAGMENTS = 4096  # ~2 KB each: under 10 MB a worker
_fragments: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
_lock = Lock()


def clear() -> None:
    with _lock:
        _fragments.clear()


class FragmentCache(Extension):
    tags = {"cache"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_fragment", [key]), [], [], body).set_lineno(lineno)

    def _fragment(self, key, caller):
        if key is None or not self.environment.fragment_cache_enabled:
            return caller()
        owner, key = key
        # Links are rendered for the application's mount point: part of what the markup depends on.
        full_key = (request.script_root if has_request_context() else "", id(owner), key)
        with _lock:
            found = _fragments.get(full_key)
            if found is not None and found[0] is owner:
                _fragments.move_to_end(full_key)
                return found[1]
        markup = caller()
        with _lock:
            _fragments[full_key] = (owner, markup)
            if len(_fragments) > MAX_FRAGMENTS:
                _fragments.popitem(last=False)
        return markup


def install(app) -> None:
    app.jinja_env.add_extension(FragmentCache)
    app.jinja_env.fragment_cache_enabled = True  # the tests compare pages rendered with it off
