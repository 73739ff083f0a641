// The JSON-schema editor's "Use this example" button: copies the example into the schema box
// and switches the schema on. Without JavaScript the example is there to copy by hand.
(function () {
  "use strict";

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-schema-example]");
    if (!button) return;
    const box = document.getElementById("schema");
    const example = document.getElementById("schema-example");
    const on = document.getElementById("use_schema");
    if (!box || !example) return;
    box.value = example.textContent;
    if (on) on.checked = true;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
  });
})();
