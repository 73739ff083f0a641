// The inspect panels a streamed result sends closed and empty (details[data-panel-url]: the raw
// events, Get code, the timeline): each is fetched from the server the first time it is opened,
// so a result carries only what is shown at once. The panel's own summary stays (and with it
// the keyboard focus); its body is the server's partial for that panel, escaped and sanitized
// there like the rest of the result. A failed load says so and is tried again on the next open.
(function () {
  "use strict";

  function fill(panel) {
    if (panel.dataset.panelState) return;  // loading, or loaded
    const body = panel.querySelector(":scope > [data-panel-body]");
    if (!body) return;
    panel.dataset.panelState = "loading";
    panel.setAttribute("aria-busy", "true");
    body.hidden = false;
    body.textContent = "Loading…";
    fetch(panel.dataset.panelUrl, { credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.text();
      })
      .then((html) => {
        const holder = document.createElement("template");
        holder.innerHTML = html;
        const loaded = holder.content.querySelector("details");
        if (!loaded) throw new Error("the server sent no panel");
        const parts = [...loaded.childNodes].filter((node) => node.nodeName !== "SUMMARY");
        body.replaceWith(...parts);
        panel.dataset.panelState = "loaded";
        panel.dispatchEvent(new CustomEvent("playground:content", { bubbles: true }));
      })
      .catch((error) => {
        delete panel.dataset.panelState;
        body.textContent = "This panel could not be loaded (" + error.message + "). " +
          "Close and open it to try again, or reload the page.";
      })
      .finally(() => panel.removeAttribute("aria-busy"));
  }

  document.addEventListener("toggle", (event) => {
    const panel = event.target;
    if (panel.open && panel.matches && panel.matches("details[data-panel-url]")) fill(panel);
  }, true);  // toggle does not bubble
  // Panels opened before this script arrived (it is loaded with the first result that has one).
  document.querySelectorAll("details[data-panel-url][open]").forEach(fill);
})();
