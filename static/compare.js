// Compare, live: the form reserves the lanes (POST /compare, answered with one token per
// lane), then each lane streams through /stream into its own column, at its own speed.
// Each lane has its own Stop; Stop all stops every lane. Deltas go in as text (textContent);
// a finished lane becomes the server's own _lane.html, and once every lane is done the
// results (lanes, metrics, diff) are the server's _comparison.html. Without this script the
// same form posts normally and the server sends the lanes itself.
(function () {
  "use strict";

  const form = document.querySelector("form[data-compare]");
  const results = document.getElementById("compare-results");
  const template = document.getElementById("lane-streaming");
  if (!form || !results || !template) return;
  const runButton = document.getElementById("compare-button");
  const stopAll = document.getElementById("stop-all");
  const status = document.getElementById("compare-status");
  const csrf = () => form.querySelector("[name=csrf_token]").value;
  const narrow = window.matchMedia("(max-width: 700px)");
  let controllers = [];

  // Server markup (sanitized by the server) turned into an element.
  function fromHTML(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content.firstElementChild;
  }

  // Narrow screens: the lane switcher becomes tabs (one lane shown at a time); wide: columns.
  function setupTabs(root) {
    const nav = root.querySelector("[data-lane-switcher]");
    const lanes = root.querySelector(".lanes");
    if (!nav || !lanes) return;
    const tabs = Array.from(nav.querySelectorAll("[data-lane-tab]"));
    const panels = tabs.map((tab) => document.getElementById("lane-" + tab.dataset.laneTab));
    nav.setAttribute("role", "tablist");
    lanes.dataset.tabs = "";
    function select(index, focus) {
      tabs.forEach((tab, i) => {
        tab.setAttribute("aria-selected", String(i === index));
        tab.tabIndex = i === index ? 0 : -1;
        if (panels[i]) panels[i].hidden = narrow.matches && i !== index;
      });
      if (focus) tabs[index].focus();
    }
    tabs.forEach((tab, i) => {
      tab.setAttribute("role", "tab");
      tab.id = "lane-tab-" + tab.dataset.laneTab;
      if (panels[i]) {
        tab.setAttribute("aria-controls", panels[i].id);
        panels[i].setAttribute("role", "tabpanel");
        panels[i].setAttribute("aria-labelledby", tab.id);
      }
      tab.addEventListener("click", (event) => { event.preventDefault(); select(i, false); });
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (step) { event.preventDefault(); select((i + step + tabs.length) % tabs.length, true); }
        if (event.key === "Home") { event.preventDefault(); select(0, true); }
        if (event.key === "End") { event.preventDefault(); select(tabs.length - 1, true); }
      });
    });
    const current = tabs.findIndex((tab) => tab.getAttribute("aria-selected") === "true");
    select(Math.max(current, 0), false);
    narrow.addEventListener("change", () => select(
      Math.max(tabs.findIndex((tab) => tab.getAttribute("aria-selected") === "true"), 0), false));
  }

  function setRunning(running) {
    runButton.disabled = running;
    stopAll.hidden = !running;
  }

  // One lane's column while it streams, and its stream.
  async function streamLane(lane, column) {
    const part = (name) => column.querySelector(`[data-part="${name}"]`);
    const controller = new AbortController();
    controllers.push(controller);
    part("stop").setAttribute("aria-label", `Stop lane ${lane.lane + 1}`);
    part("stop").addEventListener("click", () => controller.abort());
    const body = new FormData();
    body.append("csrf_token", csrf());
    body.append("lane", lane.token);
    const key = form.querySelector("[name=user_key]");  // the visitor's own key, if offered
    if (key && key.value) body.append("user_key", key.value);
    const started = performance.now();
    let reasoning = 0;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST", body, signal: controller.signal,
        headers: { "X-CSRFToken": csrf(), Accept: "text/event-stream" },
      });
      const type = response.headers.get("content-type") || "";
      if (!response.ok || !type.startsWith("text/event-stream")) {
        const answer = await response.json().catch(() => ({}));
        part("pill").textContent = "Failed";
        part("pill").className = "pill pill-error";
        part("note").textContent = answer.error || `The lane could not start (HTTP ${response.status}).`;
        return;
      }
      await window.PlaygroundSSE(response, (name, data) => {
        if (name === "content" || name === "refusal") {
          if (part("pill").textContent !== "Streaming…") {
            part("pill").textContent = "Streaming…";
            part("note").textContent = `First token after ${Math.round(performance.now() - started)} ms`;
          }
          part("text").textContent += data;
        } else if (name === "reasoning") {
          reasoning += data.length;  // shown whole once the lane ends; meanwhile, a count
          part("note").textContent = `Reasoning… ${reasoning} characters`;
        } else if (name === "result") {
          const done = fromHTML(data.html);
          if (done) column.replaceWith(done);
        }
      });
    } catch (error) {
      const stopped = error.name === "AbortError";
      part("pill").textContent = stopped ? "Stopped" : "Incomplete";
      part("pill").className = "pill pill-" + (stopped ? "stopped" : "incomplete");
      part("note").textContent = stopped
        ? "Stopped by you: the connection to the provider was closed; the partial reply is kept."
        : "The connection was lost; the partial reply is kept.";
      part("stop").hidden = true;
    }
  }

  // After every lane: the saved comparison as the server draws it (metrics, diff, actions).
  async function showSaved(url, attempt) {
    try {
      const response = await fetch(url + "/results", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      if (data.running && attempt < 10) {  // a stopped lane is saved a moment after the stop
        setTimeout(() => showSaved(url, attempt + 1), 300);
        return;
      }
      results.innerHTML = data.html;
      setupTabs(results);
      setupDiff(results);
      setupRerun(results);
      results.dispatchEvent(new CustomEvent("playground:content", { bubbles: true }));
      status.textContent = "All lanes finished.";
    } catch (error) {
      status.textContent = "The lanes finished; reload the page to see the metrics.";
    }
  }

  async function compare(source, body) {
    const url = source.getAttribute("action");  // form.action would be the buttons named "action"
    setRunning(true);
    status.textContent = "Reserving the lanes…";
    let answer;
    try {
      const response = await fetch(url, {
        method: "POST", body, headers: { "X-CSRFToken": csrf(), "X-Compare": "stream", Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      answer = await response.json();
    } catch (error) {
      // Invalid input, an expired form or a limit: the normal submit shows why, in the page.
      setRunning(false);
      status.textContent = "";
      HTMLFormElement.prototype.submit.call(source);
      return;
    }
    window.history.replaceState(null, "", answer.url);
    const nav = document.createElement("nav");
    nav.className = "lane-switcher";
    nav.setAttribute("aria-label", "Lanes");
    nav.dataset.laneSwitcher = "";
    const grid = document.createElement("div");
    grid.className = `lanes lanes-${answer.lanes.length}`;
    grid.id = "lanes";
    const columns = answer.lanes.map((lane) => {
      const column = template.content.firstElementChild.cloneNode(true);
      column.id = "lane-" + lane.lane;
      column.querySelector('[data-part="title"]').textContent = `Lane ${lane.lane + 1} ${lane.model}`;
      grid.appendChild(column);
      const tab = document.createElement("a");
      tab.href = "#lane-" + lane.lane;
      tab.dataset.laneTab = lane.lane;
      tab.textContent = `Lane ${lane.lane + 1} · ${lane.model}`;
      nav.appendChild(tab);
      return column;
    });
    results.replaceChildren(nav, grid);
    setupTabs(results);
    status.textContent = `Streaming ${answer.lanes.length} lanes…`;
    controllers = [];
    await Promise.all(answer.lanes.map((lane, i) => streamLane(lane, columns[i])));
    controllers = [];
    setRunning(false);
    await showSaved(answer.url, 0);
  }

  form.addEventListener("submit", (event) => {
    const action = event.submitter ? event.submitter.value : "run";
    if (action !== "run" || !window.fetch || !window.ReadableStream || !window.PlaygroundSSE) return;
    event.preventDefault();
    if (controllers.length) return;
    const body = new FormData(form);
    body.set("action", "run");
    compare(form, body);
  });
  // Ctrl/Cmd + Enter runs every lane, from any field, as on the playground.
  runButton.querySelector("kbd").hidden = false;
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(runButton);
    }
  });
  stopAll.addEventListener("click", () => controllers.forEach((c) => c.abort()));

  function setupDiff(root) {
    const diffForm = root.querySelector("#diff-form");
    if (!diffForm || !diffForm.dataset.diffUrl) return;
    diffForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const query = new URLSearchParams(new FormData(diffForm)).toString();
      const response = await fetch(`${diffForm.dataset.diffUrl}?${query}`);
      if (!response.ok) return;
      const target = root.querySelector("#diff-result");
      target.innerHTML = await response.text();  // the server's escaped diff
      window.history.replaceState(null, "", `${window.location.pathname}?${query}#diff`);
      target.setAttribute("tabindex", "-1");
      target.focus();
    });
  }

  function setupRerun(root) {
    root.querySelectorAll("form[data-compare-run]").forEach((rerun) => {
      rerun.addEventListener("submit", (event) => {
        if (!window.fetch || !window.ReadableStream || !window.PlaygroundSSE || controllers.length) return;
        event.preventDefault();
        compare(rerun, new FormData(rerun));
      });
    });
  }

  setupTabs(results);
  setupDiff(results);
  setupRerun(results);
})();
