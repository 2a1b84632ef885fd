"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const svg = document.getElementById("graph");
  const canvas = document.getElementById("canvas");
  const panel = document.getElementById("facts");
  const C = D.c;
  const SEV = ["critical", "high", "medium", "low", "info"];
  const nodeEdges = D.N.map(() => []);
  D.E.forEach((e, i) => { nodeEdges[e.u].push(i); if (e.v !== e.u) nodeEdges[e.v].push(i); });
  const byLeaf = {};
  D.E.forEach((e, i) => { if (e.leaf) (byLeaf[e.leaf] = byLeaf[e.leaf] || []).push(i); });
  const bandOf = D.N.map(n => n.b);
  const open = D.B.map(() => !D.grouped);
  let offsets = D.B.map(() => 0);
  const $ = id => document.getElementById(id);
  const el = (k, i) => document.getElementById(k + i);

  // --- time --- //
  const iso = t => (t === null || t === undefined) ? "" : new Date(t * 1000).toISOString().replace(".000Z", "Z");

  // --- small DOM helpers: untrusted text only ever goes through textContent --- //
  function h(tag, text, cls) {
    const x = document.createElement(tag);
    if (text !== undefined && text !== null) x.textContent = String(text);
    if (cls) x.className = cls;
    return x;
  }
  function table(facts) {
    const t = h("table", null, "facts");
    Object.keys(facts).forEach(k => {
      const v = facts[k];
      const tr = h("tr");
      tr.appendChild(h("th", k));
      const td = h("td");
      if (Array.isArray(v)) {
        if (!v.length) td.textContent = "(none)";
        v.forEach(x => td.appendChild(h("div", x)));
      } else if (typeof v === "number" && /^(iat|nbf|exp|ts|at|until|first|last)$/.test(k) && v > 1e9) {
        td.textContent = iso(v) + " (" + v + ")";
      } else td.textContent = String(v);
      tr.appendChild(td);
      t.appendChild(tr);
    });
    return t;
  }
  function link(text, fn) {
    const b = h("button", text, "link");
    b.type = "button";
    b.addEventListener("click", fn);
    return b;
  }
  function sevTag(s) { return h("span", s.toUpperCase(), "sev s-" + s); }

  // --- selection and panel --- //
  let selected = null;
  let finding = null;
  function clearMarks() {
    svg.querySelectorAll(".sel,.hl").forEach(x => x.classList.remove("sel", "hl"));
    svg.classList.remove("dim");
    document.querySelectorAll("#findings .on").forEach(x => x.classList.remove("on"));
    finding = null;
  }
  function findingsList(fids) {
    const ul = h("ul", null, "flist");
    fids.forEach(f => {
      const F = D.F[f];
      const li = h("li");
      li.appendChild(sevTag(F.severity));
      li.appendChild(link(F.rule + " " + F.title, () => pickFinding(f)));
      li.appendChild(h("div", F.message, "msg"));
      ul.appendChild(li);
    });
    return ul;
  }
  function section(title) { panel.appendChild(h("h3", title)); }
  function claims(i) {
    const e = D.E[i];
    const f = e.f;
    const keep = {};
    ["iss", "sub", "task", "obo", "caps", "iat", "nbf", "exp", "dpth", "depth", "signature", "receipt", "verified", "token", "jti"].forEach(k => { if (k in f) keep[k] = f[k]; });
    return keep;
  }
  function showNode(i, focus) {
    clearMarks();
    selected = ["n", i];
    const n = D.N[i];
    const g = el("n", i);
    if (g) { g.classList.add("sel"); if (focus) g.focus({preventScroll: true}); }
    panel.textContent = "";
    panel.appendChild(h("h2", n.k + ": " + n.n, "title"));
    panel.appendChild(table(n.f));
    const held = nodeEdges[i].filter(j => D.E[j].v === i && D.E[j].k === "delegates");
    const issued = nodeEdges[i].filter(j => D.E[j].u === i && D.E[j].k === "delegates");
    const calls = nodeEdges[i].filter(j => D.E[j].k === "invokes" || D.E[j].k === "denied");
    if (held.length) {
      section("Tokens held (" + held.length + ")");
      held.slice(0, 50).forEach(j => {
        const d = h("div", null, "tok");
        d.appendChild(link("token " + D.E[j].f.token.slice(0, 12) + "\u2026 from " + D.N[D.E[j].u].n, () => showEdge(j)));
        d.appendChild(table(claims(j)));
        panel.appendChild(d);
      });
    }
    if (issued.length) {
      section("Tokens issued (" + issued.length + ")");
      const ul = h("ul");
      issued.slice(0, 100).forEach(j => {
        const li = h("li");
        li.appendChild(link("to " + D.N[D.E[j].v].n + " (" + D.E[j].f.task + ")", () => showEdge(j)));
        ul.appendChild(li);
      });
      panel.appendChild(ul);
    }
    if (calls.length) {
      section("Decisions");
      const ul = h("ul");
      calls.slice(0, 100).forEach(j => {
        const e = D.E[j];
        const who = e.u === i ? D.N[e.v].n : D.N[e.u].n;
        const li = h("li");
        li.appendChild(link((e.k === "invokes" ? "allowed " : "denied (" + e.f.code + ") ") + who + " \u00d7" + (e.f.count || 1), () => showEdge(j)));
        ul.appendChild(li);
      });
      panel.appendChild(ul);
    }
    if (n.F.length) { section("Findings"); panel.appendChild(findingsList(n.F)); }
    else { section("Findings"); panel.appendChild(h("p", "none involve it")); }
  }
  function showEdge(i) {
    clearMarks();
    selected = ["e", i];
    const e = D.E[i];
    const p = el("e", i);
    if (p) p.classList.add("sel");
    reveal([e.u, e.v]);
    panel.textContent = "";
    panel.appendChild(h("h2", e.k + ": " + D.N[e.u].n + " \u2192 " + D.N[e.v].n, "title"));
    panel.appendChild(table(e.f));
    const uses = byLeaf[e.f.token || ""] || [];
    if (uses.length) {
      section("Decisions on this token");
      const ul = h("ul");
      uses.forEach(j => {
        const x = D.E[j];
        ul.appendChild(h("li", (x.k === "invokes" ? "allowed" : "denied: " + x.f.code) + " " + D.N[x.v].n + " \u00d7" + (x.f.count || 1)));
      });
      panel.appendChild(ul);
    }
    section("Findings");
    if (e.F.length) panel.appendChild(findingsList(e.F)); else panel.appendChild(h("p", "none involve it"));
  }
  function pickFinding(f) {
    clearMarks();
    finding = f;
    const F = D.F[f];
    reveal(F.N);
    svg.classList.add("dim");
    F.N.forEach(i => { const x = el("n", i); if (x) x.classList.add("hl"); });
    F.E.forEach(i => { const x = el("e", i); if (x) x.classList.add("hl"); });
    const b = el("f", f); if (b) b.classList.add("hl");
    const li = document.querySelector('#findings [data-f="' + f + '"]');
    if (li) li.classList.add("on");
    panel.textContent = "";
    const t = h("h2", null, "title");
    t.appendChild(sevTag(F.severity));
    t.appendChild(document.createTextNode(" " + F.rule + " " + F.title));
    panel.appendChild(t);
    panel.appendChild(h("p", F.message));
    section("Witness path");
    const ol = h("ol", null, "path");
    F.path.forEach(s => {
      const li = h("li");
      li.appendChild(h("span", s.kind + ": ", "k"));
      li.appendChild(h("span", s.from + " \u2192 " + s.to));
      if (s.token) li.appendChild(h("div", "token " + s.token, "tokid"));
      ol.appendChild(li);
    });
    panel.appendChild(ol);
    section("Evidence");
    panel.appendChild(table(F.evidence));
    if (F.locations.length) {
      section("Where");
      const ul = h("ul");
      F.locations.forEach(l => ul.appendChild(h("li", l.source + ":" + l.line)));
      panel.appendChild(ul);
    }
    focusOn(F.N);
  }

  // --- bands (grouped view) --- //
  function edgePath(x1, y1, x2, y2, lane) {
    const half = C.w / 2;
    const bend = Math.floor((lane + 1) / 2) * 7 * (lane % 2 ? 1 : -1);
    if (x1 === x2 && y1 === y2) {
      const sx = x1 + half - 20, sy = y1 - C.h / 2;
      return "M" + sx + " " + sy + "C" + sx + " " + (sy - 30 - bend) + " " + (sx + 40) + " " + (sy - 30 - bend) + " " + (sx + 20) + " " + sy;
    }
    if (x2 > x1) {
      const sx = x1 + half, tx = x2 - half, mx = (sx + tx) / 2;
      return "M" + sx + " " + y1 + "C" + mx + " " + (y1 + bend) + " " + mx + " " + (y2 + bend) + " " + tx + " " + y2;
    }
    const sx = x1 + half, tx = x2 + half, out = 60 + Math.abs(bend);
    return "M" + sx + " " + y1 + "C" + (sx + out) + " " + (y1 + bend) + " " + (tx + out) + " " + (y2 + bend) + " " + tx + " " + y2;
  }
  function relayout() {
    let y = C.margin;
    D.B.forEach((b, k) => {
      offsets[k] = y - b.y0;
      const g = el("b", k);
      g.setAttribute("transform", "translate(0 " + offsets[k] + ")");
      g.classList.toggle("collapsed", !open[k]);
      const bg = g.querySelector(".bandbg");
      if (bg) bg.setAttribute("height", open[k] ? b.h : C.collapsed);
      const lab = g.querySelector(".bandlabel");
      if (lab) lab.textContent = (open[k] ? "\u25be " : "\u25b8 ") + D.groupedBy + " " + b.name;
      y += (open[k] ? b.h : C.collapsed) + C.gap;
    });
    C.height = Math.max(y - C.gap + C.margin, 2 * C.margin);
    svg.querySelectorAll("#xedges .edge").forEach(p => {
      const e = D.E[+p.dataset.e];
      const a = D.N[e.u], b = D.N[e.v];
      p.setAttribute("d", edgePath(a.x, a.y + offsets[bandOf[e.u]], b.x, b.y + offsets[bandOf[e.v]], e.l));
    });
    svg.querySelectorAll("#xedges .badge").forEach(g => {
      const F = D.F[+g.dataset.f];
      const e = D.E[F.E[F.E.length - 1]];
      const dy = (offsets[bandOf[e.u]] + offsets[bandOf[e.v]]) / 2;
      g.setAttribute("transform", g.dataset.t0 ? g.dataset.t0.replace(/ ([-0-9.]+)\)$/, (m, v) => " " + (+v + dy) + ")") : g.getAttribute("transform"));
    });
    apply();
  }
  svg.querySelectorAll("#xedges .badge").forEach(g => { g.dataset.t0 = g.getAttribute("transform"); });
  function toggleBand(k) { open[k] = !open[k]; relayout(); }
  function reveal(nodes) {
    if (!D.grouped) return;
    let changed = false;
    nodes.forEach(i => { if (!open[bandOf[i]]) { open[bandOf[i]] = true; changed = true; } });
    if (changed) relayout();
  }

  // --- filters, search, time --- //
  const sevOn = {};
  const kindOn = {};
  function readFilters() {
    SEV.forEach(s => { const c = $("sev-" + s); sevOn[s] = !c || c.checked; });
    ["delegates", "on_behalf", "invokes", "denied"].forEach(k => { const c = $("kind-" + k); kindOn[k] = !c || c.checked; });
  }
  function fShown(f) {
    const F = D.F[f];
    const rule = $("rule").value;
    return sevOn[F.severity] && (!rule || F.rule === rule);
  }
  let lo = -Infinity, hi = Infinity;
  function apply() {
    readFilters();
    const task = $("task").value, prin = $("principal").value;
    const only = $("only").checked;
    const fvis = D.F.map((F, f) => fShown(f));
    const nvis = D.N.map(() => false);
    const active = task || prin || only || lo > -Infinity || hi < Infinity;
    let shown = 0;
    D.E.forEach((e, i) => {
      let ok = kindOn[e.k];
      if (ok && task) ok = e.t === task || (e.k === "on_behalf" && (e.f.tasks || []).indexOf(task) >= 0);
      if (ok && prin) ok = e.o === prin;
      if (ok && e.a !== null && e.a !== undefined) ok = e.z >= lo && e.a <= hi;
      if (ok && only) ok = e.F.some(f => fvis[f]);
      if (ok && D.grouped && bandOf[e.u] !== bandOf[e.v]) ok = open[bandOf[e.u]] && open[bandOf[e.v]];
      const p = el("e", i);
      if (p) p.classList.toggle("hid", !ok);
      if (ok) { nvis[e.u] = true; nvis[e.v] = true; if (!D.grouped || open[bandOf[e.u]]) shown++; }
    });
    D.N.forEach((n, i) => {
      let ok = nvis[i] || (!active && nodeEdges[i].length === 0);
      if (only) ok = ok && n.F.some(f => fvis[f]);
      const g = el("n", i);
      if (g) g.classList.toggle("hid", !ok);
      nvis[i] = ok;
    });
    D.F.forEach((F, f) => {
      const onGraph = fvis[f] && (F.N.length === 0 || F.N.some(i => nvis[i]));
      const b = el("f", f);
      if (b) b.classList.toggle("hid", !onGraph);
      const li = document.querySelector('#findings [data-f="' + f + '"]');
      if (li) li.classList.toggle("hid", !fvis[f]);
    });
    $("shown").textContent = shown + " of " + D.E.length + " edges shown";
  }
  function readTime() {
    if (D.span[0] === null) return;
    const a = +$("t-from").value, b = +$("t-to").value;
    const t = x => D.span[0] + (D.span[1] - D.span[0]) * x / 1000;
    lo = a <= 0 ? -Infinity : t(Math.min(a, b));
    hi = b >= 1000 ? Infinity : t(Math.max(a, b));
    $("t-label").textContent = iso(t(Math.min(a, b))) + " \u2192 " + iso(t(Math.max(a, b)));
    apply();
  }
  let matches = [], at = -1;
  function search(step) {
    const q = $("search").value.trim().toLowerCase();
    svg.querySelectorAll(".match").forEach(x => x.classList.remove("match"));
    matches = q ? D.N.map((n, i) => i).filter(i => D.N[i].n.toLowerCase().indexOf(q) >= 0) : [];
    matches.forEach(i => { const g = el("n", i); if (g) g.classList.add("match"); });
    $("matches").textContent = q ? matches.length + " match" + (matches.length === 1 ? "" : "es") : "";
    if (step && matches.length) {
      at = (at + 1) % matches.length;
      reveal([matches[at]]);
      showNode(matches[at], true);
      focusOn([matches[at]]);
    }
  }

  // --- pan and zoom: the viewBox --- //
  const vb = {x: 0, y: 0, w: C.width, h: C.height};
  function setView() { svg.setAttribute("viewBox", vb.x + " " + vb.y + " " + vb.w + " " + vb.h); }
  function fit(all) {
    const r = canvas.getBoundingClientRect();
    let s = Math.min(r.width / C.width, r.height / C.height, 1.4);
    if (!all && s < 0.6) s = 0.75;  // a big graph opens readable, at its top left
    vb.w = r.width / s; vb.h = r.height / s;
    vb.x = Math.min(0, (C.width - vb.w) / 2); vb.y = Math.min(0, (C.height - vb.h) / 2);
    setView();
  }
  function zoom(f, cx, cy) {
    if (cx === undefined) { cx = vb.x + vb.w / 2; cy = vb.y + vb.h / 2; }
    vb.x = cx - (cx - vb.x) * f; vb.y = cy - (cy - vb.y) * f; vb.w *= f; vb.h *= f;
    setView();
  }
  function focusOn(nodes) {
    if (!nodes.length) return;
    const xs = nodes.map(i => D.N[i].x), ys = nodes.map(i => D.N[i].y + offsets[bandOf[i]]);
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2, cy = (Math.min(...ys) + Math.max(...ys)) / 2;
    const need = Math.max(Math.max(...xs) - Math.min(...xs) + C.w * 2, (Math.max(...ys) - Math.min(...ys) + 120) * vb.w / vb.h);
    if (need > vb.w) zoom(need / vb.w);
    vb.x = cx - vb.w / 2; vb.y = cy - vb.h / 2;
    setView();
  }
  function toSvg(ev) {
    const r = svg.getBoundingClientRect();
    return [vb.x + (ev.clientX - r.left) * vb.w / r.width, vb.y + (ev.clientY - r.top) * vb.h / r.height];
  }
  canvas.addEventListener("wheel", ev => {
    ev.preventDefault();
    const [x, y] = toSvg(ev);
    zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, x, y);
  }, {passive: false});
  let drag = null;
  canvas.addEventListener("pointerdown", ev => {
    if (ev.target.closest(".node,.badge,.bandlabel")) return;
    drag = [ev.clientX, ev.clientY, vb.x, vb.y, false];
  });
  window.addEventListener("pointermove", ev => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    const dx = ev.clientX - drag[0], dy = ev.clientY - drag[1];
    if (Math.abs(dx) + Math.abs(dy) > 3) drag[4] = true;
    vb.x = drag[2] - dx * vb.w / r.width; vb.y = drag[3] - dy * vb.h / r.height;
    setView();
  });
  window.addEventListener("pointerup", () => { setTimeout(() => { drag = null; }, 0); });

  // --- events --- //
  svg.addEventListener("click", ev => {
    if (drag && drag[4]) return;
    const t = ev.target.closest(".node,.edge,.badge,.bandlabel,.bandsum");
    if (!t) { clearMarks(); return; }
    if (t.classList.contains("node")) showNode(+t.dataset.i, false);
    else if (t.classList.contains("edge")) showEdge(+t.dataset.e);
    else if (t.classList.contains("badge")) pickFinding(+t.dataset.f);
    else toggleBand(+t.closest(".band").dataset.b);
  });
  svg.addEventListener("keydown", ev => {
    const t = ev.target;
    if ((ev.key === "Enter" || ev.key === " ") && t.classList) {
      if (t.classList.contains("node")) { showNode(+t.dataset.i, false); ev.preventDefault(); }
      else if (t.classList.contains("bandlabel")) { toggleBand(+t.dataset.b); ev.preventDefault(); }
    }
  });
  document.querySelectorAll("#findings button[data-f]").forEach(b => b.addEventListener("click", () => pickFinding(+b.dataset.f)));
  document.querySelectorAll("#filters input, #filters select").forEach(x => x.addEventListener("change", apply));
  $("t-from").addEventListener("input", readTime);
  $("t-to").addEventListener("input", readTime);
  $("search").addEventListener("input", () => { at = -1; search(false); });
  $("search").addEventListener("keydown", ev => { if (ev.key === "Enter") { ev.preventDefault(); search(true); } });
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.25));
  $("zoom-out").addEventListener("click", () => zoom(1.25));
  $("zoom-fit").addEventListener("click", () => fit(true));
  document.addEventListener("keydown", ev => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName);
    if (ev.key === "Escape") { clearMarks(); panel.textContent = "Click a node, an edge or a finding."; return; }
    if (typing) return;
    const step = vb.w / 8;
    const keys = {
      "+": () => zoom(1 / 1.25), "=": () => zoom(1 / 1.25), "-": () => zoom(1.25), "0": () => fit(true),
      "ArrowLeft": () => { vb.x -= step; setView(); }, "ArrowRight": () => { vb.x += step; setView(); },
      "ArrowUp": () => { vb.y -= step; setView(); }, "ArrowDown": () => { vb.y += step; setView(); },
      "/": () => $("search").focus(),
      "n": () => { if (D.F.length) pickFinding(finding === null ? 0 : (finding + 1) % D.F.length); },
      "p": () => { if (D.F.length) pickFinding(finding === null ? D.F.length - 1 : (finding + D.F.length - 1) % D.F.length); },
    };
    if (keys[ev.key]) { keys[ev.key](); ev.preventDefault(); }
  });
  window.addEventListener("resize", () => { vb.h = vb.w * canvas.clientHeight / Math.max(1, canvas.clientWidth); setView(); });

  if (D.grouped) relayout();
  readTime();
  apply();
  fit(false);
  document.body.dataset.ready = "1";
})();
