// A visitor's own API key stays in this tab (sessionStorage), never in the server's pages.
// The form's key field is typed into; other forms (Regenerate) carry a hidden copy.
(function () {
  "use strict";

  const inputs = document.querySelectorAll("[data-session-key]");
  if (!inputs.length) return;
  try {
    const saved = sessionStorage.getItem("playground.userKey") || "";
    inputs.forEach((input) => {
      input.value = saved;
      if (input.type === "hidden") return;
      input.addEventListener("input", () => {
        if (input.value) sessionStorage.setItem("playground.userKey", input.value);
        else sessionStorage.removeItem("playground.userKey");
      });
    });
  } catch (error) { /* storage disabled: the visitor pastes the key for each run */ }
})();
