// Streaming Run and Stop: the form posts to /stream and the reply appears as it is written.
// The card shown meanwhile is the page's own <template id="streaming-card"> (server markup);
// deltas are appended as plain text (textContent), never as HTML. While it streams, the
// server also sends "snapshot" events: its own sanitized HTML of the reply so far, as finished
// blocks to append and a growing tail to replace (live.js puts them in). The final result is
// the server's rendered partial, the same HTML the no-JS page shows.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  const template = document.getElementById("streaming-card");
  if (!form || !template) return;
  const result = document.getElementById("result");
  const runButton = document.getElementById("run-button");
  const stopButton = document.getElementById("stop-button");
  const status = document.getElementById("run-status");
  // One polite announcement per run, when it ends; the result region itself is not live, so
  // a screen reader is not read every token.
  const announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("role", "status");
  announcer.id = "run-announce";
  document.body.appendChild(announcer);
  let controller = null;

  function announce(message) {
    announcer.textContent = message;
  }

  // A fresh copy of the streaming card, and the parts this script fills in.
  function streamingView(model) {
    const card = template.content.firstElementChild.cloneNode(true);
    const part = (name) => card.querySelector(`[data-part="${name}"]`);
    part("model").textContent = model || "";
    return {
      card, pill: part("pill"), reasoning: part("reasoning"), text: part("text"),
      reasoningSummary: part("reasoning-summary"), reasoningText: part("reasoning-text"),
      note: part("note"), refusal: part("refusal"),
      live: window.PlaygroundLive ? window.PlaygroundLive(part("live"), part("text")) : null,
    };
  }

  // Run disables itself while a run is in flight: the keyboard moves with it to Stop, and
  // back to Run when the run ends, instead of falling to <body>.
  function setRunning(running) {
    const active = document.activeElement;
    const lost = !active || active === document.body;
    if (running) {
      stopButton.hidden = false;
      if (active === runButton || lost) stopButton.focus();
      runButton.disabled = true;
    } else {
      runButton.disabled = false;
      const wasStop = active === stopButton;
      stopButton.hidden = true;
      if (wasStop || lost || document.activeElement === document.body) runButton.focus();
    }
  }

  async function streamRun() {
    const started = performance.now();
    let firstToken = null;
    let view = null;
    controller = new AbortController();
    announce("");  // the same outcome twice in a row is still said twice
    setRunning(true);
    status.textContent = "Sending…";
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": form.querySelector("[name=csrf_token]").value, Accept: "text/event-stream" },
        signal: controller.signal,
      });
      const type = response.headers.get("content-type") || "";
      if (!response.ok || !type.startsWith("text/event-stream")) {
        // Invalid input, an expired form or a limit: the normal submit shows why, in the form.
        setRunning(false);
        status.textContent = "";
        HTMLFormElement.prototype.submit.call(form);
        return;
      }
      await window.PlaygroundSSE(response, (name, data) => {
        if (name === "start") {
          view = streamingView(data.model);
          if (view.live && data.live) view.live.start();
          result.replaceChildren(view.card);
          if (window.matchMedia("(max-width: 900px)").matches) {
            result.scrollIntoView({ behavior: "smooth", block: "start" });  // one column
          }
          status.textContent = "Waiting for the first token…";
        } else if (name === "content" || name === "reasoning" || name === "refusal") {
          if (firstToken === null) {
            firstToken = performance.now() - started;
            status.textContent = `First token after ${Math.round(firstToken)} ms`;
          }
          if (name === "reasoning") {
            view.reasoning.hidden = false;
            view.reasoningText.textContent += data;
            // Collapsed by default: say that something is happening while the model thinks.
            view.reasoningSummary.textContent =
              `Reasoning… ${view.reasoningText.textContent.length} characters`;
          } else if (name === "refusal") {
            view.refusal.hidden = false;
            view.refusal.textContent += data;
          } else if (view.live) {
            view.live.text(data);
          } else {
            view.text.textContent += data;
          }
        } else if (name === "snapshot") {
          if (view && view.live) view.live.snapshot(data);
        } else if (name === "result") {
          if (view && view.live) view.live.end();
          const hadFocus = result.contains(document.activeElement);
          result.innerHTML = data.html;  // the server's sanitized partial
          result.dispatchEvent(new CustomEvent("playground:content", { bubbles: true }));
          status.textContent = "";
          const failure = result.querySelector(".error-card h2, .error-card h3");
          announce(`Run finished: ${data.label || data.state}.` +
                   (failure ? ` ${failure.textContent.trim()}` : ""));
          if (hadFocus) {
            const head = result.querySelector(".result-head");
            if (head) { head.tabIndex = -1; head.focus(); }
          }
          // The run is saved: its own page is now this page's address (a reload re-sends nothing).
          if (data.url) {
            const next = new URL(data.url, window.location.href);
            // Presenter mode stays on: a reload of the run's page presents it too.
            if (new URLSearchParams(window.location.search).get("present") === "1") {
              next.searchParams.set("present", "1");
            }
            window.history.replaceState(null, "", next.pathname + next.search);
          }
        }
      });
    } catch (error) {
      if (view) {
        const stopped = error.name === "AbortError";
        view.pill.textContent = stopped ? "Stopped" : "Incomplete";
        view.pill.className = "pill pill-" + (stopped ? "stopped" : "incomplete");
        view.text.classList.remove("streaming-text");
        view.text.classList.add("plain-partial");
        view.note.textContent = stopped
          ? `Stopped by you after ${Math.round(performance.now() - started)} ms` +
            (firstToken !== null ? ` (first token after ${Math.round(firstToken)} ms)` : "") +
            ". The connection to the provider was closed; usage: n/a — not reported before the stop."
          : "The connection was lost; the partial reply is kept above.";
      }
      if (view && view.live) view.live.end();
      status.textContent = error.name === "AbortError" ? "Stopped" : "Connection lost";
      announce(error.name === "AbortError" ? "Run stopped: the partial reply is kept."
        : "Run ended: the connection was lost; the partial reply is kept.");
    } finally {
      controller = null;
      setRunning(false);
    }
  }

  form.addEventListener("submit", (event) => {
    // An old browser, or sse.js not loaded: the plain POST.
    if (!window.fetch || !window.ReadableStream || !window.PlaygroundSSE) return;
    // Only Run streams; the editing buttons the turn editor leaves to the server (Export's
    // download, say) post the form as they would without JavaScript.
    if (event.submitter && event.submitter.value !== "run") return;
    event.preventDefault();
    if (!controller) streamRun();
  });
  // Ctrl/Cmd + Enter runs, from any field of the form (the button shows it once it works).
  runButton.querySelector("kbd").hidden = false;
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => { if (controller) controller.abort(); });
  // Esc stops a run in flight (not a character key, so no WCAG 2.1.4 concern).
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller) {
      event.preventDefault();
      controller.abort();
    }
  });
})();
