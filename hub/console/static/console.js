// The console's only script: the flow page's live stream (SSE), confirmations, and
// the bulk replay's progress. No framework and no build step.
"use strict";

function formatSeconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1) return Math.round(value * 1000) + " ms";
  if (value < 120) return value.toFixed(1) + " s";
  if (value < 7200) return (value / 60).toFixed(1) + " min";
  return (value / 3600).toFixed(1) + " h";
}

function setText(root, field, text) {
  root.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) { el.textContent = String(text); });
}

function renderFlow(section, snapshot) {
  var labels = JSON.parse(section.dataset.labels);
  setText(section, "portal_per_minute", snapshot.portal_per_minute);
  snapshot.agencies.forEach(function (a) {
    section.querySelectorAll('[data-agency="' + a.agency + '"]').forEach(function (root) {
      setText(root, "commands_per_minute", a.commands_per_minute);
      setText(root, "reports_per_minute", a.reports_per_minute);
      setText(root, "in_flight", a.in_flight);
      setText(root, "completed_hour", a.completed_hour);
      setText(root, "rejected_hour", a.rejected_hour);
      setText(root, "p50_seconds", formatSeconds(a.p50_seconds));
      setText(root, "p95_seconds", formatSeconds(a.p95_seconds));
      setText(root, "error_rate", a.error_rate === null ? "–" : Math.round(a.error_rate * 100) + " %");
      setText(root, "lag", a.lag === null ? labels.unknown : a.lag);
      root.querySelectorAll('[data-field="breaker"]').forEach(function (el) {
        el.replaceChildren();
        var span = document.createElement("span");
        span.className = "breaker " + a.breaker;
        span.textContent = labels[a.breaker] || a.breaker;
        el.appendChild(span);
      });
      root.querySelectorAll('[data-field="breaker-node"]').forEach(function (el) {
        el.setAttribute("class", "node agency breaker-" + a.breaker);
      });
      root.querySelectorAll("line.edge").forEach(function (el) {
        el.classList.toggle("busy", a.commands_per_minute > 0);
      });
    });
  });
  var body = document.getElementById("recent");
  var rows = snapshot.recent.map(function (c) {
    var tr = document.createElement("tr");
    tr.dataset.case = c.id;
    var link = document.createElement("a");
    link.href = body.dataset.caseUrl + c.id;
    link.textContent = c.id;
    var cells = [link, c.service, c.status].map(function (content) {
      var td = document.createElement("td");
      if (typeof content === "string") td.textContent = content; else td.appendChild(content);
      return td;
    });
    cells[2].className = "status " + c.status;
    cells.forEach(function (td) { tr.appendChild(td); });
    return tr;
  });
  body.replaceChildren.apply(body, rows);
  document.getElementById("updated").textContent = snapshot.at.substring(11, 19);
}

function startFlow(section) {
  var live = document.getElementById("live");
  var source = new EventSource(section.dataset.stream);
  source.addEventListener("open", function () { live.dataset.state = "on"; });
  source.addEventListener("error", function () { live.dataset.state = "off"; });
  source.addEventListener("flow", function (event) {
    live.dataset.state = "on";
    renderFlow(section, JSON.parse(event.data));
  });
}

function confirmForms() {
  document.querySelectorAll("form[data-confirm]:not(#bulk-replay)").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

async function bulkReplay(form, event) {
  event.preventDefault();
  if (!window.confirm(form.dataset.confirm)) return;
  var bar = document.getElementById("bulk-progress");
  var out = document.getElementById("bulk-result");
  form.querySelector("button").disabled = true;
  bar.hidden = false;
  var response = await fetch(form.action, {
    method: "POST", body: new URLSearchParams(new FormData(form)),
    headers: { Accept: "application/x-ndjson" }, credentials: "same-origin",
  });
  if (!response.ok) { out.textContent = response.status + " " + (await response.text()); return; }
  var reader = response.body.getReader();
  var decoder = new TextDecoder();
  var buffer = "";
  for (;;) {
    var chunk = await reader.read();
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    var lines = buffer.split("\n");
    buffer = lines.pop();
    lines.filter(Boolean).map(JSON.parse).forEach(function (line) {
      if (line.total) { bar.max = line.total; bar.value = line.done; }
      if (line.finished) {
        out.textContent = form.dataset.done.replace(/\{(\w+)\}/g, function (_, name) { return line[name]; });
        out.dataset.finished = "true";
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", function () {
  var flow = document.getElementById("flow");
  if (flow) startFlow(flow);
  confirmForms();
  var bulk = document.getElementById("bulk-replay");
  if (bulk) bulk.addEventListener("submit", function (event) { bulkReplay(bulk, event); });
});
