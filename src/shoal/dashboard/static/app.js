// The dashboard page: renders the state the server pushes (server-sent events from
// /api/events; /api/state is polled if the stream breaks) and sends the buttons to /api/action.
"use strict";

const $ = (sel) => document.querySelector(sel);
let state = null;
let lastSeen = 0;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "title") e.title = v;
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
}

function pill(text, level) { return el("span", { class: "pill " + level }, text); }
function fmt(n) { return n === null || n === undefined ? "–" : String(n); }
function clock(t) { return new Date(t * 1000).toLocaleTimeString([], { hour12: false }); }

function render(s) {
  state = s;
  lastSeen = Date.now();
  document.body.classList.toggle("local", !!s.local);
  $("#title").textContent = s.title;
  const c = s.cluster;
  const banner = $("#banner");
  banner.className = "banner " + c.level;
  banner.dataset.level = c.level;
  banner.textContent = c.level === "bad"
    ? "⚠ " + c.verdict + " — the cluster cannot accept writes"
    : c.level === "warn" ? "cluster " + c.verdict : "cluster healthy: " + c.healthy + " of " + c.size + " members";
  if (c.membersError && !s.members.length) banner.textContent += " (" + c.membersError + ")";
  $("#leader").textContent = c.leader ? "leader: " + c.leader : "no leader";
  renderMembers(s);
  renderTimeline(s.timeline);
  renderFleet(s.fleet);
}

function machineOf(m) { return m.machine || ""; }

function renderMembers(s) {
  const byId = Object.fromEntries(s.members.map((m) => [m.id, m.name || m.id]));
  const rows = s.members.map((m) => {
    const level = m.healthy ? "ok" : m.reachable ? "warn" : "bad";
    const health = el("td", {}, pill(m.healthy ? "healthy" : m.reachable ? "unhealthy" : "unreachable", level));
    if (m.error) health.append(el("div", { class: "reason" }, m.error));
    const tr = el("tr", { class: m.role === "leader" ? "leader" : "", "data-member": m.name || m.id,
                          "data-health": m.healthy ? "healthy" : m.reachable ? "unhealthy" : "unreachable" },
      el("td", {}, m.name || "(unstarted)"),
      el("td", { class: "mono" }, m.id || "–"),
      el("td", { class: "mono" }, (m.peerURLs || []).join(" ")),
      el("td", { class: "mono" }, (m.clientURLs || []).join(" ")),
      el("td", {}, m.role || "–"),
      el("td", { class: "num" }, fmt(m.term)),
      el("td", { class: "num" }, fmt(m.commit)),
      el("td", { class: "num" }, fmt(m.applied)),
      health,
      el("td", {}, m.leader && m.leader !== "0" ? (byId[m.leader] || m.leader) : "–"));
    if (s.local) {
      const name = machineOf(m);
      const running = (s.local.machines.find((x) => x.name === name) || {}).running;
      const cell = actionButtons(name);
      cell.prepend(el("div", {}, name + (running ? "" : " (down)")));
      tr.append(cell);
    }
    return tr;
  });
  $("#members tbody").replaceChildren(...rows);
  renderOthers(s);
}

function actionButtons(name) {
  const cell = el("td", {});
  for (const a of ["stop", "kill", "start", "partition"]) {
    cell.append(el("button", { "data-action": a, "data-machine": name,
                               class: a === "kill" ? "danger" : "", title: "shoal " + a + " " + name }, a));
  }
  return cell;
}

// A local cluster's machines that are no member (workers run an etcd proxy): their buttons too.
function renderOthers(s) {
  const box = $("#others-box");
  const members = new Set(s.members.map(machineOf));
  const others = s.local ? s.local.machines.filter((m) => !members.has(m.name)) : [];
  box.hidden = !others.length;
  $("#others tbody").replaceChildren(...others.map((m) =>
    el("tr", { "data-machine": m.name },
      el("td", {}, m.name), el("td", {}, m.address), el("td", { class: "mono" }, m.clientURL),
      el("td", {}, pill(m.running ? "running" : "down", m.running ? "ok" : "bad")),
      actionButtons(m.name))));
}

function renderTimeline(events) {
  const items = events.slice().reverse().map((e) =>
    el("li", { class: e.level }, el("time", {}, clock(e.time)), e.text));
  $("#timeline").replaceChildren(...items);
  // The strip: the cluster's verdict from the first event to now, proportional in time.
  const marks = events.filter((e) => e.kind === "cluster");
  const strip = $("#strip");
  if (!marks.length) { strip.replaceChildren(); return; }
  const now = Date.now() / 1000, start = marks[0].time, span = Math.max(now - start, 1);
  strip.replaceChildren(...marks.map((e, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].time : now;
    const d = el("div", { class: e.level, title: clock(e.time) + " " + e.text });
    d.style.width = (100 * (end - e.time) / span) + "%";
    return d;
  }));
}

function renderFleet(f) {
  $("#fleet-error").textContent = f.error ? "fleet: " + f.error : "";
  $("#machines tbody").replaceChildren(...f.machines.map((m) =>
    el("tr", {}, el("td", { class: "mono" }, m.id.slice(0, 8) + "…"), el("td", {}, m.ip),
       el("td", {}, Object.entries(m.metadata).map(([k, v]) => k + "=" + v).join(", ")))));
  $("#units tbody").replaceChildren(...f.units.map((u) => {
    const buttons = el("td", {});
    if (!u.running) buttons.append(el("button", { "data-why": u.name }, "why"));
    buttons.append(el("button", { "data-journal": u.name, "data-ip": u.machineIP }, "journal"));
    return el("tr", { "data-unit": u.name },
      el("td", {}, u.name), el("td", {}, u.desired),
      el("td", {}, pill(u.current, u.current === u.desired ? "ok" : "warn")),
      el("td", { class: "mono" }, u.machine ? u.machine.slice(0, 8) + "…/" + u.machineIP : "–"),
      el("td", {}, u.active || "–"), buttons);
  }));
}

async function act(action, machine, button) {
  button.disabled = true;
  $("#action-result").textContent = "shoal " + action + " " + (machine || "") + " …";
  try {
    const r = await fetch("/api/action", { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify({ action, machine }) });
    const body = await r.json();
    $("#action-result").textContent = r.ok ? body.output : "failed: " + body.error;
  } catch (err) {
    $("#action-result").textContent = "failed: " + err;
  } finally {
    button.disabled = false;
  }
}

async function detail(url, title) {
  const pre = $("#detail");
  pre.hidden = false;
  pre.textContent = title + " …";
  const r = await fetch(url);
  const body = await r.json();
  pre.textContent = title + "\n\n" + (body.error || body.text || (body.lines || []).join("\n"));
}

document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.dataset.action) act(b.dataset.action, b.dataset.machine, b);
  else if (b.dataset.why) detail("/api/why?unit=" + encodeURIComponent(b.dataset.why), "$ fleetctl why " + b.dataset.why);
  else if (b.dataset.journal) detail("/api/journal?unit=" + encodeURIComponent(b.dataset.journal) +
    "&ip=" + encodeURIComponent(b.dataset.ip || ""), "$ fleetctl journal " + b.dataset.journal);
});

function connect() {
  const es = new EventSource("/api/events");
  es.onmessage = (ev) => render(JSON.parse(ev.data));
  es.onerror = () => { $("#live").textContent = "reconnecting…"; };
}

setInterval(() => {
  const age = (Date.now() - lastSeen) / 1000;
  $("#live").textContent = lastSeen ? (age < 12 ? "live" : "no update for " + age.toFixed(0) + "s") : "connecting…";
  if (lastSeen && age > 12) fetch("/api/state").then((r) => r.json()).then(render).catch(() => {});
}, 1000);

connect();
