// Replay: a stored stream plays again in the page at its recorded pace (1×, 2× or 10×), with
// pause, restart and a progress bar. Every element with data-replay-url is a lane (a run page
// has one, a comparison one per lane); they play together on one clock. The data is GET from
// our own server: arrival times and the server's sanitized snapshots, so nothing is sent to the
// model and the browser never parses markdown. While it plays, a stage stands in for the
// rendered reply; at the end the page's own final render comes back. With reduced motion the
// reply changes at most twice a second and the page never scrolls by itself.
// Keys: Alt+Shift+R replays from the start; Esc pauses.
(function () {
  "use strict";

  const REDUCED_STEP_MS = 500;
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  const announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("role", "status");
  document.body.appendChild(announcer);
  let lanes = null;  // loaded lanes, or a promise while loading
  let speed = 1;
  let position = 0;
  let duration = 0;
  let playing = false;
  let last = 0;
  let applied = 0;  // when the stages last changed (for reduced motion)
  let frame = null;

  function bars() { return [...document.querySelectorAll("[data-replay-controls]")]; }

  function each(selector, fn) {
    bars().forEach((bar) => bar.querySelectorAll(selector).forEach(fn));
  }

  function say(text) { each("[data-replay-status]", (el) => { el.textContent = text; }); }

  function seconds(ms) { return `${(ms / 1000).toFixed(1)} s`; }

  function parse(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;  // the server's sanitized snapshot (nh3), never raw text
    return holder.content;
  }

  function laneOf(el, data) {
    const scope = el.closest("article.result") || el;
    const reply = scope.querySelector(".reply");
    const meta = document.createElement("p");
    meta.className = "hint replay-meta";
    const stage = document.createElement("div");
    stage.className = "markdown live-reply replay-stage";
    return { el, scope, reply, meta, stage, frames: data.frames || [], index: 0, pieces: [],
             raw: null, duration: data.duration_ms || 0 };
  }

  async function load() {
    const els = [...document.querySelectorAll("[data-replay-url]")];
    const got = await Promise.all(els.map(async (el) => {
      const response = await fetch(el.dataset.replayUrl, {
        credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return laneOf(el, await response.json());
    }));
    duration = Math.max(0, ...got.map((lane) => lane.duration));
    return got;
  }

  function mount(lane) {
    lane.stage.replaceChildren();
    lane.meta.textContent = "";
    lane.index = 0;
    lane.pieces = [];
    lane.raw = null;
    if (lane.stage.isConnected) return;
    if (lane.reply) {
      lane.reply.before(lane.meta, lane.stage);
      lane.reply.hidden = true;
    } else {
      (lane.scope.querySelector(".choice") || lane.scope).append(lane.meta, lane.stage);
    }
  }

  function unmount(lane) {
    lane.meta.remove();
    lane.stage.remove();
    if (lane.reply) lane.reply.hidden = false;
  }

  function show(lane, step) {
    const stage = lane.stage;
    if (step.keep !== undefined) {
      const kept = lane.pieces.slice(0, step.keep).reduce((a, b) => a + b, 0);
      lane.pieces = lane.pieces.slice(0, step.keep);
      while (stage.childNodes.length > kept) stage.lastChild.remove();
      (step.add || []).forEach((html) => {
        const nodes = parse(html);
        lane.pieces.push(nodes.childNodes.length);
        stage.appendChild(nodes);
      });
      stage.appendChild(parse(step.tail || ""));
    }
    if (step.stopped) stage.appendChild(parse(step.stopped));
    if (step.raw) {
      if (!lane.raw) {
        lane.raw = document.createElement("div");
        lane.raw.className = "plain-partial";
        stage.appendChild(lane.raw);
      }
      lane.raw.textContent += step.raw;
    }
    lane.meta.textContent = `${step.chunks} chunks` +
      (step.reasoning ? ` · reasoning ${step.reasoning} characters` : "") +
      ` · ${step.chars} characters of reply`;
  }

  function atBottom() {
    const root = document.documentElement;
    return window.innerHeight + window.scrollY >= root.scrollHeight - 24;
  }

  function advance(now) {
    lanes.forEach((lane) => {
      // Every frame in order: a snapshot is a change to the one before it.
      while (lane.index < lane.frames.length && lane.frames[lane.index].t <= position) {
        show(lane, lane.frames[lane.index]);
        lane.index += 1;
      }
    });
    applied = now;
  }

  function tick(now) {
    frame = null;
    if (!playing) return;
    // A hidden tab does not jump ahead; a frame stamped before run() does not go back ("-0.0 s").
    position += Math.min(Math.max(now - last, 0), 1000) * speed;
    last = now;
    const done = position >= duration;
    if (done || !reduced.matches || now - applied >= REDUCED_STEP_MS) {
      const follow = !reduced.matches && atBottom();
      advance(now);
      if (follow) window.scrollTo(0, document.documentElement.scrollHeight);
    }
    each("[data-replay-progress]", (el) => {
      el.value = Math.round(Math.min(position / (duration || 1), 1) * 1000);
    });
    say(`${seconds(Math.min(position, duration))} of ${seconds(duration)} at ${speed}×`);
    if (done) finish();
    else frame = requestAnimationFrame(tick);
  }

  function label(text) {
    each("[data-replay-play]", (el) => { el.textContent = text; });
  }

  function run() {
    playing = true;
    last = performance.now();
    applied = 0;
    label("Pause");
    each("[data-replay-restart]", (el) => { el.disabled = false; });
    frame = requestAnimationFrame(tick);
  }

  function pause() {
    playing = false;
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    label("Resume");
    say(`Paused at ${seconds(position)} of ${seconds(duration)}`);
  }

  function finish() {
    playing = false;
    position = 0;
    lanes.forEach(unmount);
    label("Replay");
    say(`Replay finished (${seconds(duration)} at ${speed}×); the final reply is shown.`);
    announcer.textContent = "Replay finished.";
  }

  async function start() {
    if (!lanes) {
      say("Loading the recorded stream…");
      try {
        lanes = await load();
      } catch (error) {
        lanes = null;
        say("The recorded stream could not be loaded; try again.");
        return;
      }
    }
    position = 0;
    lanes.forEach(mount);
    announcer.textContent = "";
    run();
  }

  function toggle() {
    if (playing) pause();
    else if (lanes && position > 0) run();
    else start();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-replay-controls] button");
    if (!button) return;
    if (button.hasAttribute("data-replay-play")) toggle();
    else if (button.hasAttribute("data-replay-restart")) { pause(); start(); }
    else if (button.dataset.replaySpeed) {
      speed = Number(button.dataset.replaySpeed) || 1;
      each("[data-replay-speed]", (el) => {
        el.setAttribute("aria-pressed", String(el.dataset.replaySpeed === button.dataset.replaySpeed));
      });
    }
  });

  // A modified key, never a single character (WCAG 2.1.4): Alt+Shift+R replays, Esc pauses.
  document.addEventListener("keydown", (event) => {
    if (!bars().length) return;
    if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && event.code === "KeyR") {
      event.preventDefault();
      if (playing) pause();
      start();
    } else if (event.key === "Escape" && playing) {
      pause();
    }
  });

  // A new result (a run streamed in this page) brings its own lanes: load them afresh.
  document.addEventListener("playground:content", () => {
    if (playing) pause();
    if (lanes && typeof lanes.forEach === "function") lanes.forEach(unmount);
    lanes = null;
    position = 0;
  });
})();
