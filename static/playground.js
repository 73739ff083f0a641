// AI/ML API Playground: progressive enhancement of a page that works without JavaScript.
// Deltas are appended as plain text (textContent); the final result is the server's own
// rendered partial, the same HTML the no-JS page shows.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  const result = document.getElementById("result");
  const runButton = document.getElementById("run-button");
  const stopButton = document.getElementById("stop-button");
  const status = document.getElementById("run-status");
  let controller = null;

  function enhance(root) {
    root.querySelectorAll("[data-js-only]").forEach((el) => { el.hidden = false; });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Copy and download buttons read the text of the element they name.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy], [data-download]");
    if (!button) return;
    event.preventDefault();
    const target = document.querySelector(button.dataset.copy || button.dataset.download);
    if (!target) return;
    const text = target.tagName === "INPUT" ? target.value : target.textContent;
    if (button.dataset.copy) {
      navigator.clipboard.writeText(text).then(
        () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1200); },
        () => { button.textContent = "Copy failed"; });
    } else {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      link.download = button.dataset.filename || "download.txt";
      document.body.appendChild(link);
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    }
  });

  function loadModels() {
    const list = document.getElementById("model-suggestions");
    if (!form || !list) return;
    fetch(form.dataset.modelsUrl, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { models: [] }))
      .then((data) => {
        (data.models || []).forEach((name) => {
          const option = document.createElement("option");
          option.value = name;
          list.appendChild(option);
        });
      })
      .catch(() => {});
  }

  // A small SSE reader for a fetch() body: events are separated by a blank line.
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        block.split("\n").forEach((line) => {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        });
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  function streamingView(model) {
    const card = el("article", "result");
    const head = el("header", "result-head");
    const pill = el("span", "pill pill-streaming", "Streaming…");
    const modelCode = el("code", "", model || "");
    const modelSpan = el("span", "result-model");
    modelSpan.appendChild(modelCode);
    head.append(pill, modelSpan);
    const body = el("section", "card choice");
    const reasoning = el("details", "reasoning");
    reasoning.hidden = true;
    const reasoningText = el("div", "reasoning-text");
    const reasoningSummary = el("summary", "", "Reasoning");
    reasoning.append(reasoningSummary, reasoningText);
    const text = el("div", "streaming-text");
    const note = el("p", "hint", "");
    body.append(reasoning, text, note);
    card.append(head, body);
    return { card, pill, reasoning, reasoningSummary, reasoningText, text, note };
  }

  function setRunning(running) {
    runButton.disabled = running;
    stopButton.hidden = !running;
  }

  async function streamRun() {
    const started = performance.now();
    let firstToken = null;
    let view = null;
    controller = new AbortController();
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
      await readEvents(response, (name, data) => {
        if (name === "start") {
          view = streamingView(data.model);
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
          } else {
            view.text.textContent += data;
          }
        } else if (name === "result") {
          result.innerHTML = data.html;  // the server's sanitized partial
          enhance(result);
          status.textContent = "";
          // The run is saved: its own page is now this page's address (a reload re-sends nothing).
          if (data.url) window.history.replaceState(null, "", data.url);
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
      status.textContent = error.name === "AbortError" ? "Stopped" : "Connection lost";
    } finally {
      controller = null;
      setRunning(false);
    }
  }

  // A visitor's own API key stays in this tab (sessionStorage), never in the server's pages.
  function rememberKey() {
    const input = document.querySelector("[data-session-key]");
    if (!input) return;
    try {
      input.value = sessionStorage.getItem("playground.userKey") || "";
      input.addEventListener("input", () => {
        if (input.value) sessionStorage.setItem("playground.userKey", input.value);
        else sessionStorage.removeItem("playground.userKey");
      });
    } catch (error) { /* storage disabled: the visitor pastes the key for each run */ }
  }

  if (form) {
    enhance(document);
    rememberKey();
    loadModels();
    form.addEventListener("submit", (event) => {
      if (!window.fetch || !window.ReadableStream) return;  // old browser: plain POST
      event.preventDefault();
      if (!controller) streamRun();
    });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    stopButton.addEventListener("click", () => { if (controller) controller.abort(); });
  } else {
    enhance(document);
  }
})();
