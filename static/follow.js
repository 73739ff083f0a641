// Follow a run that is still running (its page says "Still running"): poll the run's small
// JSON endpoint, put the server's own rendered result in place as the text grows, stop when
// the run ends, and say how it ended, once. Without JavaScript the page offers a Refresh link.
(function () {
  "use strict";

  const banner = document.querySelector("[data-follow-url]");
  if (!banner || !window.fetch) return;
  const url = banner.dataset.followUrl;
  let article = banner.closest("article.result");
  if (!article) return;
  const EVERY_MS = 2000;
  const region = article.closest("[aria-live]");
  const politeness = region ? region.getAttribute("aria-live") : null;
  // The growing text is not read out every two seconds; the outcome is, once, below.
  if (region) region.setAttribute("aria-live", "off");
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);
  let shown = null;
  let failures = 0;

  function note(root) {
    const text = root.querySelector("[data-follow-note]");
    if (text) text.textContent = "This page follows it and updates by itself until it ends.";
  }

  function swap(html) {
    const holder = document.createElement("div");
    holder.innerHTML = html;  // the server's own sanitized partial, as a stream's result
    const next = holder.querySelector("article.result");
    if (!next) return;
    const hadFocus = article.contains(document.activeElement);
    note(next);
    article.replaceWith(next);
    article = next;
    next.dispatchEvent(new CustomEvent("playground:content", { bubbles: true }));
    if (hadFocus) {  // keep the keyboard user's place: the head of the result they were in
      const head = next.querySelector(".result-head");
      head.tabIndex = -1;
      head.focus();
    }
  }

  function end(message) {
    status.textContent = message;
    if (region && politeness !== null) {
      setTimeout(() => region.setAttribute("aria-live", politeness), 1000);
    }
  }

  async function poll() {
    let data;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" },
                                          cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      data = await response.json();
      failures = 0;
    } catch (error) {
      failures += 1;
      if (failures >= 5) {
        end("Stopped following this run: the server did not answer. Refresh the page to try again.");
        return;
      }
      setTimeout(poll, EVERY_MS * failures);
      return;
    }
    // While it runs, leave the result alone if the keyboard is in it; at the end, always swap.
    if (data.html !== shown && (data.finished || !article.contains(document.activeElement))) {
      swap(data.html);
      shown = data.html;
    }
    if (data.finished) {
      end(`The run has ended: ${data.label}.`);
      return;
    }
    setTimeout(poll, EVERY_MS);
  }

  note(article);
  setTimeout(poll, EVERY_MS);
})();
