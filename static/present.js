// Presenter mode (?present=1): the keys work from anywhere on the page, not only in the form.
// Ctrl/Cmd+Enter runs (stream.js handles it inside the form), Esc stops (stream.js) and
// Alt+Shift+R replays (replay.js). No single-character shortcut exists (WCAG 2.1.4).
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  if (!form) return;
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.shiftKey) return;
    if (form.contains(event.target)) return;  // the form's own handler runs it
    event.preventDefault();
    form.requestSubmit(document.getElementById("run-button"));
  });
})();
