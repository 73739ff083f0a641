// The model picker: the free-text model box becomes an ARIA combobox (the WAI-ARIA 1.2 list
// autocomplete pattern). Typing searches the provider's catalogue on the server (GET /models);
// arrows move through the matches (aria-activedescendant), Enter or a click chooses one, Escape
// closes the list. Any text still works: choosing is optional. The options are built with
// textContent only. Without this script, the search row under the box lists the same matches
// as links (the server renders them).
(function () {
  "use strict";

  const root = document.querySelector("[data-picker]");
  const input = document.getElementById("model");
  const list = document.getElementById("model-listbox");
  const announce = document.getElementById("model-announce");
  if (!root || !input || !list) return;
  const capability = document.querySelector("[data-picker-capability]");
  const allKinds = document.querySelector("[data-picker-kind]");
  const provider = document.getElementById("provider");
  let options = [];
  let active = -1;
  let timer = null;
  let sequence = 0;

  // The search field and Find button are the no-JS way; the box itself searches now.
  document.querySelectorAll("[data-nojs-only]").forEach((el) => { el.hidden = true; });
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  function say(text) {
    if (announce) announce.textContent = text;
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    options.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (index < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
  }

  function facts(model) {
    const parts = [model.name];
    if (model.developer) parts.push(model.developer);
    parts.push("context " + (model.context ? model.context.toLocaleString("en") : "n/a"));
    parts.push("max output " + (model.output ? model.output.toLocaleString("en") : "n/a"));
    parts.push(model.capabilities && model.capabilities.length
      ? model.capabilities.join(", ").replace(/_/g, " ") : "capabilities n/a");
    parts.push("in " + (model.price_in || "n/a") + " / out " + (model.price_out || "n/a")
      + " per M tokens" + (model.demo_prices ? " (demo prices)" : ""));
    return parts.join(" · ");
  }

  function show(data) {
    list.replaceChildren();
    options = (data.models || []).map((model, index) => {
      const li = document.createElement("li");
      li.id = "model-option-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.value = model.id;
      const id = document.createElement("code");
      id.textContent = model.id;
      const detail = document.createElement("span");
      detail.className = "facts";
      detail.textContent = facts(model);
      li.append(id, " ", detail);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the box
        choose(index);
      });
      list.appendChild(li);
      return li;
    });
    if (!options.length) {
      close();
      say(data.available === false ? (data.note || "No model list: type the id.")
        : "No model matches; any id you type is still sent as typed.");
      return;
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
    say(options.length + (options.length === 1 ? " model matches" : " models match")
      + ". Use the arrow keys to choose.");
  }

  function search() {
    const params = new URLSearchParams({ q: input.value.trim() });
    if (capability && capability.value) params.set("capability", capability.value);
    if (allKinds && allKinds.checked) params.set("kind", "all");
    if (provider && provider.value) params.set("provider", provider.value);
    const mine = ++sequence;
    fetch(root.dataset.modelsUrl + "?" + params, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { models: [] }))
      .then((data) => { if (mine === sequence && document.activeElement === input) show(data); })
      .catch(() => {});
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  }

  function choose(index) {
    const li = options[index];
    if (!li) return;
    input.value = li.dataset.value;
    close();
    say("Chosen: " + li.dataset.value);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  input.addEventListener("input", later);
  input.addEventListener("focus", () => { if (!input.value) later(); });
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", (event) => {
    const open = !list.hidden && options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) { search(); return; }
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault(); // choose, do not submit the form
      choose(active);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      close();
    }
  });
  [capability, allKinds].forEach((control) => {
    // Never move the focus: arrowing through a select fires a change at every step.
    if (control) control.addEventListener("change", () => say("The model box's list now uses this filter."));
  });
})();
