// The pre-flight, live: as the model, max_tokens, n or the conversation change, the form is
// posted to /preflight and the server renders the model card and the pre-flight panel again
// (cost estimate, context check, "don't send" flags, capability notes), the same partials the
// page was rendered with; this script only swaps them in. Controls for a capability the model
// lacks are disabled (when empty) with the reason beside them, until the override is ticked.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  if (!form || !form.dataset.preflightUrl) return;
  let timer = null;
  let sequence = 0;
  let gatesNow = null; // the last answer's gates: applied again to turns added later

  function swap(id, html) {
    const old = document.getElementById(id);
    if (!old || typeof html !== "string") return;
    const holder = document.createElement("template");
    holder.innerHTML = html; // the server's rendered, escaped partial
    const fresh = holder.content.getElementById(id);
    if (!fresh) return;
    const focused = document.activeElement;
    const key = focused && old.contains(focused) ? [focused.name, focused.value] : null;
    old.replaceWith(fresh);
    if (key) {
      const again = Array.from(fresh.querySelectorAll("input")).find(
        (el) => el.name === key[0] && el.value === key[1]);
      if (again) again.focus();
    }
  }

  // A gated control is disabled only while it holds nothing: what was typed is never dropped.
  function empty(control) {
    return Array.from(control.querySelectorAll("[data-gate-content]")).every((el) =>
      (el.type === "checkbox" ? !el.checked : !el.value.trim()));
  }

  function applyGates(gates) {
    document.querySelectorAll("[data-capability]").forEach((control) => {
      const gate = gates[control.dataset.capability];
      const off = Boolean(gate) && !gate.overridden && empty(control);
      control.disabled = off;
      let reason = control.querySelector("[data-gate-reason]");
      if (gate && !reason) {
        reason = document.createElement("p");
        reason.className = "hint gate-reason";
        reason.setAttribute("data-gate-reason", "");
        control.insertBefore(reason, control.firstElementChild ? control.firstElementChild.nextSibling : null);
      }
      if (reason) {
        reason.hidden = !gate;
        reason.textContent = gate ? gate.reason : "";
      }
    });
  }

  function showLimit(outputMax) {
    const field = document.getElementById("max_tokens");
    const hint = field && field.parentElement.querySelector(".hint");
    if (!hint) return;
    hint.textContent = outputMax ? "This model's output limit: " + outputMax.toLocaleString("en") + " tokens."
      : "The model's output limit: n/a.";
  }

  function refresh() {
    const mine = ++sequence;
    const body = new FormData(form);
    // Uploads are read when the form is run, never to price it.
    Array.from(body.keys()).forEach((key) => {
      if (body.getAll(key).some((value) => value instanceof File)) body.delete(key);
    });
    fetch(form.dataset.preflightUrl, {
      method: "POST", body,
      headers: { "X-CSRFToken": form.querySelector("[name=csrf_token]").value, Accept: "application/json" },
    })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data || mine !== sequence) return; // an older answer than the one shown
        swap("model-card", data.card);
        swap("preflight", data.preflight);
        gatesNow = data.gates || {};
        applyGates(gatesNow);
        showLimit(data.output_max);
      })
      .catch(() => {});
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", (event) => {
    if (event.target.closest && !event.target.closest("#preflight")) later();
  });
  form.addEventListener("change", later);
  document.addEventListener("playground:content", () => { if (gatesNow) applyGates(gatesNow); });
})();
