// Get code for the live form, in place: the form's fields go to /code and the server's panel
// (the same partial the no-JS page shows) replaces the result area. Nothing is sent to a model.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  const button = document.getElementById("code-button");
  const result = document.getElementById("result");
  if (!form || !button || !result) return;

  button.addEventListener("click", async (event) => {
    if (!window.fetch) return;  // the plain post shows the same panel
    event.preventDefault();
    try {
      const response = await fetch(button.dataset.codeUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": form.querySelector("[name=csrf_token]").value, "X-Get-Code": "stream" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      result.innerHTML = data.html;  // the server's escaped, highlighted panel
      result.dispatchEvent(new CustomEvent("playground:content", { bubbles: true }));
      const panel = result.querySelector("details.get-code > summary");
      if (panel) panel.focus();
    } catch (error) {
      // Invalid input or an expired form: the normal post shows why, next to the fields
      // (posted as the button would post it, past the page's streaming Run).
      const action = document.createElement("input");
      action.type = "hidden";
      action.name = button.name;
      action.value = button.value;
      form.appendChild(action);
      HTMLFormElement.prototype.submit.call(form);
    }
  });
})();
