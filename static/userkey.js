// A visitor's own API key stays in this tab (sessionStorage), never in the server's pages.
(function () {
  "use strict";

  const input = document.querySelector("[data-session-key]");
  if (!input) return;
  try {
    input.value = sessionStorage.getItem("playground.userKey") || "";
    input.addEventListener("input", () => {
      if (input.value) sessionStorage.setItem("playground.userKey", input.value);
      else sessionStorage.removeItem("playground.userKey");
    });
  } catch (error) { /* storage disabled: the visitor pastes the key for each run */ }
})();
