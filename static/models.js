// Model suggestions: the provider's model list fills the model field's <datalist>. Without it
// the field is plain free text, so a failure here changes nothing.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
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
})();
