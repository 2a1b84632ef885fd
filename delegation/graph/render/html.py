"""One self-contained HTML file: the SVG drawing, the facts as JSON, and a small script.

Nothing is fetched: a Content-Security-Policy meta tag allows no source at all except
the page's own inline script and style, pinned by their SHA-256 hashes (so not even an
injected inline script could run), no CDN, no third-party code. The script
(``_script.js``, ours) adds the side panel, finding selection with the witness path
highlighted and the rest dimmed, filters (severity, rule, task, principal, edge kind,
"only what findings involve"), search by agent id, a time window, pan and zoom, keyboard
navigation and, above ``GROUP_THRESHOLD`` nodes, bands (tasks or trust domains) that
start collapsed and expand on demand. Untrusted strings reach the page only escaped
(SVG/HTML text) or as JSON read with ``JSON.parse`` and shown through ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from ..findings import SEVERITIES, Finding
from ..model import DelegationGraph
from ._layout import BAND_GAP, COLLAPSED_H, MARGIN, NODE_H, NODE_W, Layout, layout
from ._view import EDGE_KINDS, View, iso, view_of
from .svg import BADGES, EDGE_STYLE, draw, esc

__all__ = ["CSP", "json_for_script", "render"]

PAGE_CSS = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px system-ui,-apple-system,'Segoe UI',sans-serif;color:#111}
body{display:flex;flex-direction:column}
header{padding:6px 12px;border-bottom:1px solid #ccc;background:#fafafa}
header h1{font-size:16px;margin:0}
header p{margin:2px 0 0;color:#444}
#main{flex:1;display:flex;min-height:0}
#left{width:260px;overflow:auto;border-right:1px solid #ccc;padding:8px}
#canvas{flex:1;position:relative;overflow:hidden;background:#fff;min-width:0}
#canvas svg{width:100%;height:100%;display:block}
#tools{position:absolute;right:8px;top:8px;display:flex;gap:4px}
#tools button{width:30px;height:30px;font-size:16px}
#panel{width:340px;overflow:auto;border-left:1px solid #ccc;padding:8px;background:#fcfcfc}
#panel h2{font-size:14px;margin:0 0 6px;word-break:break-all}
#panel h3{font-size:13px;margin:12px 0 4px}
fieldset{border:1px solid #ddd;margin:0 0 8px;padding:4px 8px}
legend{font-weight:600}
label{display:inline-block;margin:1px 6px 1px 0}
select,input[type=search]{width:100%}
input[type=range]{width:100%}
table.facts{border-collapse:collapse;width:100%;font-size:12px}
table.facts th{text-align:left;vertical-align:top;padding:2px 6px 2px 0;color:#444;
  white-space:nowrap}
table.facts td{padding:2px 0;word-break:break-all}
.tok{border:1px solid #ddd;border-radius:4px;padding:4px;margin:4px 0}
button.link{background:none;border:0;padding:0;color:#0057a3;text-decoration:underline;cursor:pointer;text-align:left;font:inherit}
#findings ul{list-style:none;padding:0;margin:0}
#findings li{margin:2px 0}
#findings button svg{flex:none}
#findings button{display:flex;gap:6px;align-items:center;width:100%;text-align:left;
  background:#fff;border:1px solid #ddd;border-radius:4px;padding:3px;cursor:pointer;font:inherit}
#findings button.on,#findings li.on button{outline:3px solid #000}
.sev{font-weight:700;font-size:11px;padding:1px 4px;border:1px solid #000;border-radius:3px}
.s-critical{background:#D55E00;color:#fff}.s-high{background:#E69F00}.s-medium{background:#F0E442}
.s-low{background:#56B4E9}.s-info{background:#BBB}
.flist{padding-left:0;list-style:none}.flist li{margin:4px 0}.msg{color:#333;font-size:12px}
ol.path{padding-left:18px}
#panel li{word-break:break-all}.tokid{font-size:11px;color:#555;word-break:break-all}
.hid{display:none!important}
.key{display:flex;align-items:center;gap:6px;margin:2px 0}
.small{color:#555;font-size:12px}
"""

_SEV_WORD = {
    "critical": "CRITICAL",
    "high": "HIGH",
    "medium": "MEDIUM",
    "low": "LOW",
    "info": "INFO",
}


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def CSP(script: str, style: str) -> str:
    """The policy: nothing from anywhere, bar this page's own script and style (by hash)."""
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{_sha(script)}'; "
        f"style-src 'sha256-{_sha(style)}'; "
        "img-src 'none'; font-src 'none'; connect-src 'none'; media-src 'none'; "
        "object-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; "
        "form-action 'none'; base-uri 'none'"
    )


def json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``).

    >>> json_for_script({"a": "</script><!--"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, safe in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, safe)
    return text


def _data(view: View, lay: Layout) -> dict[str, Any]:
    band_of = {i: b.idx for b in lay.bands for i in b.nodes}
    return {
        "c": {
            "w": NODE_W,
            "h": NODE_H,
            "margin": MARGIN,
            "gap": BAND_GAP,
            "collapsed": COLLAPSED_H,
            "width": lay.width,
            "height": lay.height,
        },
        "grouped": lay.grouped,
        "groupedBy": view.grouped_by,
        "span": list(view.span),
        "B": [{"name": b.name, "y0": b.y0, "h": b.height} for b in lay.bands],
        "N": [
            {
                "k": n.kind,
                "n": n.name,
                "b": band_of[n.idx],
                "x": n.x,
                "y": n.y,
                "f": n.facts,
                "F": n.findings,
            }
            for n in view.nodes
        ],
        "E": [
            {
                "u": e.u,
                "v": e.v,
                "k": e.kind,
                "t": e.task,
                "o": e.obo,
                "a": e.t0,
                "z": e.t1,
                "l": e.lane,
                "leaf": e.leaf,
                "f": e.facts,
                "F": e.findings,
            }
            for e in view.edges
        ],
        "F": [{**f.finding.to_dict(), "N": f.nodes, "E": f.edges} for f in view.findings],
    }


def _options(values: Sequence[str], everything: str) -> str:
    opts = [f'<option value="">{esc(everything)}</option>']
    opts.extend(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    return "".join(opts)


def _mini_badge(severity: str) -> str:
    shape, letter, fill, ink = BADGES[severity]
    return (
        f'<svg width="22" height="22" viewBox="-12 -12 24 24" aria-hidden="true">'
        f'<path d="{shape}" fill="{fill}" stroke="#000"/><text fill="{ink}" font-size="11" '
        f'font-weight="700" text-anchor="middle" dominant-baseline="central" '
        f'y="{"2" if severity == "high" else "0"}">{letter}</text></svg>'
    )


def _legend() -> str:
    rows = []
    for kind, glyph in (
        ("principal", '<ellipse cx="20" cy="9" rx="18" ry="8" fill="#FFF6E0" stroke="#333"/>'),
        ("agent", '<rect x="2" y="1" width="36" height="16" rx="4" fill="#EAF3FB" stroke="#333"/>'),
        (
            "root agent",
            '<rect x="2" y="1" width="36" height="16" rx="4" fill="#EAF3FB" stroke="#333"/>'
            '<rect x="5" y="4" width="30" height="10" rx="3" fill="none" stroke="#333"/>',
        ),
        ("tool", '<path d="M2 9L7 1H33L38 9L33 17H7Z" fill="#EAF7F1" stroke="#333"/>'),
    ):
        rows.append(f'<div class="key"><svg width="40" height="18">{glyph}</svg>{kind}</div>')
    for kind, (colour, dash, width) in EDGE_STYLE.items():
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        rows.append(
            f'<div class="key"><svg width="40" height="10"><path d="M2 5H38" stroke="{colour}" '
            f'stroke-width="{width + 0.6}"{dash_attr}/></svg>{kind}</div>'
        )
    for sev in SEVERITIES:
        rows.append(f'<div class="key">{_mini_badge(sev)}{_SEV_WORD[sev]}</div>')
    return "".join(rows)


def _findings_list(view: View) -> str:
    if not view.findings:
        return '<p class="small">No findings.</p>'
    items = []
    for f in view.findings:
        fd = f.finding
        items.append(
            f'<li data-f="{f.idx}"><button type="button" data-f="{f.idx}">'
            f"{_mini_badge(fd.severity)}<span><b>{_SEV_WORD[fd.severity]}</b> "
            f"{esc(fd.rule)} {esc(fd.title)}</span></button></li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def page(view: View, lay: Layout) -> str:
    """The HTML page of a laid-out view."""
    script = resources.files(__package__).joinpath("_script.js").read_text("utf-8")
    style = PAGE_CSS + _svg_css()
    rules = sorted({f.finding.rule for f in view.findings})
    counts = {k: sum(1 for n in view.nodes if n.kind == k) for k in ("principal", "agent", "tool")}
    tokens = sum(1 for e in view.edges if e.kind == "delegates")
    stats = (
        f"{counts['agent']} agents, {counts['principal']} principals, {counts['tool']} tools, "
        f"{tokens} tokens, {len(view.edges)} edges, {len(view.findings)} findings"
    )
    if lay.grouped:
        stats += f"; grouped by {view.grouped_by} ({len(lay.bands)} bands, click one to expand)"
    t0, t1 = view.span
    sev_boxes = "".join(
        f'<label><input type="checkbox" id="sev-{s}" checked> {_SEV_WORD[s]}</label>'
        for s in SEVERITIES
    )
    kind_boxes = "".join(
        f'<label><input type="checkbox" id="kind-{k}" checked> {k}</label>' for k in EDGE_KINDS
    )
    slider = (
        '<input type="range" id="t-from" min="0" max="1000" value="0" aria-label="from">'
        '<input type="range" id="t-to" min="0" max="1000" value="1000" aria-label="until">'
        f'<div id="t-label" class="small">{esc(iso(t0) or "no times")} \u2192 '
        f"{esc(iso(t1) or '')}</div>"
    )
    svg = draw(view, lay, standalone=False, collapsed=lay.grouped)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP(script, style)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(view.title)}</title>\n"
        f"<style>{style}</style>\n"
        "</head><body>\n"
        f'<header><h1 id="title">{esc(view.title)}</h1><p id="stats">{esc(stats)}</p></header>\n'
        '<div id="main"><nav id="left" aria-label="findings and filters">'
        '<fieldset><legend>Search agent</legend><input type="search" id="search" '
        'placeholder="agent id (/ to focus, Enter: next)"><div id="matches" class="small"></div>'
        "</fieldset>"
        f'<fieldset id="findings"><legend>Findings ({len(view.findings)})</legend>'
        f"{_findings_list(view)}</fieldset>"
        '<fieldset id="filters"><legend>Filters</legend>'
        f"<div>{sev_boxes}</div>"
        f'<label for="rule">rule</label><select id="rule">{_options(rules, "all rules")}</select>'
        f'<label for="task">task</label><select id="task">'
        f"{_options(view.tasks, 'all tasks')}</select>"
        f'<label for="principal">principal</label><select id="principal">'
        f"{_options(view.principals, 'all principals')}</select>"
        f"<div>{kind_boxes}</div>"
        '<label><input type="checkbox" id="only"> only what findings involve</label>'
        '<div id="shown" class="small"></div></fieldset>'
        f"<fieldset><legend>Time window</legend>{slider}</fieldset>"
        f"<fieldset><legend>Legend</legend>{_legend()}</fieldset>"
        '<p class="small">Keys: Tab through nodes, Enter selects, n/p next/previous finding, '
        "+/- zoom, arrows pan, 0 fit, / search, Esc clear.</p>"
        "</nav>\n"
        f'<div id="canvas" tabindex="-1">{svg}'
        '<div id="tools"><button type="button" id="zoom-in" aria-label="zoom in">+</button>'
        '<button type="button" id="zoom-out" aria-label="zoom out">\u2212</button>'
        '<button type="button" id="zoom-fit" aria-label="fit">\u2922</button></div></div>\n'
        '<aside id="panel" aria-live="polite"><div id="facts">Click a node, an edge or a '
        "finding.</div></aside></div>\n"
        f'<script type="application/json" id="data">{json_for_script(_data(view, lay))}</script>\n'
        f"<script>{script}</script>\n"
        "</body></html>\n"
    )


def _svg_css() -> str:
    from .svg import CSS

    return CSS


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """The self-contained interactive HTML page of ``graph`` with ``findings``."""
    view = view_of(graph, findings)
    return page(view, layout(view))
