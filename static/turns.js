// The turn editor, in place. Without JavaScript every button posts the form and the server
// answers with it changed; here the same buttons act on the page. A new turn is a clone of the
// server's <template id="turn-template-ROLE">, and after a move or a delete every turn's fields
// are numbered again, turns-0-…, turns-1-…, exactly as the server numbers them, so the form
// posts the same fields either way. Import and "Insert an example" ask the server (the same
// post, answered in place); Export is a download, and leaves the page as it is.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  const editor = form && form.querySelector("[data-turns-editor]");
  if (!editor) return;
  const MAX_TURNS = 200;
  const TEMPLATE_ROLES = ["system", "developer", "user"];
  const VARIABLE = /\\\{\{|\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;
  const ROLE_NAMES = { system: "system", developer: "developer", user: "user",
                       assistant: "assistant", tool: "tool result" };

  const list = () => form.querySelector("[data-turn-list]");
  const turns = () => Array.from(list().querySelectorAll(":scope > [data-turn]"));
  const status = () => form.querySelector("#turns-status");

  // A polite announcement: cleared first, so the same words twice are read twice.
  function announce(message) {
    const region = status();
    if (!region) return;
    region.textContent = "";
    window.setTimeout(() => { region.textContent = message; }, 50);
  }

  function focusField(id) {
    const target = id && document.getElementById(id);
    if (target) {
      target.focus();
      if (typeof target.scrollIntoView === "function") target.scrollIntoView({ block: "nearest" });
    }
  }

  // Every name, id and reference of one turn's fields, for its place in the list.
  function number(turn, index) {
    turn.id = `turn-${index}`;
    turn.querySelectorAll("*").forEach((el) => {
      ["name", "id", "for", "aria-describedby"].forEach((attr) => {
        const value = el.getAttribute(attr);
        if (value && value.includes("turns-")) {
          el.setAttribute(attr, value.replace(/turns-(\d+|__index__)-/g, `turns-${index}-`));
        }
      });
      if (el.name === "action") {
        el.value = el.value
          .replace(/^(up|down|delete|role)-(\d+|__index__)$/, `$1-${index}`)
          .replace(/^remove-image-(\d+|__index__)-/, `remove-image-${index}-`);
      }
    });
    turn.querySelectorAll("[data-turn-number]").forEach((el) => { el.textContent = String(index + 1); });
    numberImages(turn, index);
  }

  function numberImages(turn, index) {
    const items = Array.from(turn.querySelectorAll("[data-image]"));
    items.forEach((item, k) => {
      item.querySelectorAll("input[type=hidden]").forEach((input) => {
        input.name = input.name.replace(/^turns-(\d+|__index__)-images-(\d+|__image__)-/,
                                        `turns-${index}-images-${k}-`);
      });
      const remove = item.querySelector("[data-remove-image]");
      if (remove) remove.value = `remove-image-${index}-${k}`;
      item.querySelectorAll("[data-image-number]").forEach((el) => { el.textContent = String(k + 1); });
    });
    const total = turn.querySelector("[data-image-total]");
    if (total) total.textContent = String(items.length);
  }

  function renumber() {
    const all = turns();
    all.forEach(number);
    const total = editor.querySelector("[data-turn-total]");
    if (total) total.textContent = `${all.length} turn${all.length === 1 ? "" : "s"}`;
  }

  // Show the fields a role uses; the others stay in the form, hidden (and are not sent).
  function showRole(turn) {
    const select = turn.querySelector("[data-role-select]");
    const role = select ? select.value : "user";
    turn.className = turn.className.replace(/\bturn-(system|developer|user|assistant|tool)\b/g, "").trim() +
      ` turn-${role}`;
    turn.querySelectorAll("[data-for-role]").forEach((section) => {
      section.hidden = section.dataset.forRole !== role;
    });
  }

  function count(textarea) {
    const shown = textarea.closest("[data-turn]").querySelector("[data-count]");
    if (shown) shown.textContent = String(textarea.value.length);
  }

  function addTurn(role) {
    const template = document.getElementById(`turn-template-${role}`);
    if (!template) return;
    if (turns().length >= MAX_TURNS) {
      announce(`A conversation may have at most ${MAX_TURNS} turns.`);
      return;
    }
    const turn = template.content.firstElementChild.cloneNode(true);
    prepare(turn);
    list().appendChild(turn);
    renumber();
    const index = turns().length - 1;
    focusField(`turns-${index}-content`);
    announce(`Turn ${index + 1} added (${ROLE_NAMES[role]}).`);
    updateVariables();
  }

  function deleteTurn(index) {
    const all = turns();
    if (!all[index]) return;
    all[index].remove();
    renumber();
    const left = turns().length;
    if (!left) {
      announce(`Turn ${index + 1} deleted; the conversation is empty.`);
      focusField("add-user");
    } else {
      announce(`Turn ${index + 1} deleted.`);
      focusField(`turns-${Math.min(index, left - 1)}-content`);
    }
    updateVariables();
  }

  function moveTurn(index, direction) {
    const all = turns();
    const other = direction === "up" ? index - 1 : index + 1;
    if (!all[index]) return;
    if (!all[other]) {
      announce(`Turn ${index + 1} is already the ${direction === "up" ? "first" : "last"}.`);
      focusField(`turns-${index}-content`);
      return;
    }
    if (direction === "up") all[other].before(all[index]);
    else all[other].after(all[index]);
    renumber();
    announce(`Turn ${index + 1} moved ${direction}: it is now turn ${other + 1}.`);
    focusField(`turns-${other}-content`);
    updateVariables();
  }

  function removeImage(index, k) {
    const turn = turns()[index];
    const item = turn && turn.querySelectorAll("[data-image]")[k];
    if (!item) return;
    item.remove();
    numberImages(turn, index);
    announce(`Image ${k + 1} removed from turn ${index + 1}.`);
    focusField(`turns-${index}-upload`);
  }

  function clearConversation() {
    turns().forEach((turn) => turn.remove());
    ["system", "user"].forEach((role) => {
      const turn = document.getElementById(`turn-template-${role}`).content.firstElementChild.cloneNode(true);
      prepare(turn);
      list().appendChild(turn);
    });
    renumber();
    const parent = form.querySelector("[name=parent_id]");
    if (parent) parent.value = "";
    const imported = form.querySelector("#import_text");
    if (imported) imported.value = "";
    updateVariables();
    announce("New conversation: the turns are cleared.");
    focusField("turns-1-content");
  }

  // The {{names}} the system, developer and user turns use, in order of first appearance.
  function variableNames() {
    const names = [];
    turns().forEach((turn) => {
      const select = turn.querySelector("[data-role-select]");
      if (!select || !TEMPLATE_ROLES.includes(select.value)) return;
      const text = turn.querySelector("[data-content]").value;
      for (const match of text.matchAll(VARIABLE)) {
        if (match[1] && !names.includes(match[1])) names.push(match[1]);
      }
    });
    return names;
  }

  function updateVariables() {
    const panel = form.querySelector("[data-variables]");
    const box = panel && panel.querySelector("[data-variable-list]");
    const template = document.getElementById("variable-template");
    if (!box || !template) return;
    const names = variableNames().slice(0, 51);
    const existing = new Map(Array.from(box.querySelectorAll("[data-variable]"))
      .map((el) => [el.dataset.variable, el]));
    const wanted = names.map((name) => {
      if (existing.has(name)) return existing.get(name);
      const fresh = template.content.firstElementChild.cloneNode(true);
      fresh.dataset.variable = name;
      fresh.querySelectorAll("*").forEach((el) => {
        ["for", "id", "name"].forEach((attr) => {
          if (el.hasAttribute(attr)) el.setAttribute(attr, el.getAttribute(attr).replace("__name__", name));
        });
      });
      fresh.querySelector("code").textContent = `{{${name}}}`;
      return fresh;
    });
    const same = wanted.length === box.children.length &&
      wanted.every((el, i) => box.children[i] === el);
    if (!same) box.replaceChildren(...wanted);
    const empty = panel.querySelector("[data-variables-empty]");
    if (empty) empty.hidden = names.length > 0;
  }

  // Tool choice: one option per function the tools box declares, as the server lists them.
  function updateToolChoice() {
    const tools = form.querySelector("#tools");
    const select = form.querySelector("#tool_choice");
    if (!tools || !select) return;
    let names;
    try {
      const parsed = tools.value.trim() ? JSON.parse(tools.value) : [];
      names = Array.isArray(parsed) ? parsed.map((t) => t && t.function && t.function.name)
        .filter((n) => typeof n === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(n)) : [];
    } catch (error) {
      return;  // half typed: leave the choices as they are
    }
    const chosen = select.value;
    Array.from(select.options).forEach((option) => {
      if (option.value.startsWith("function:")) option.remove();
    });
    names.forEach((name) => {
      const option = new Option(`Only ${name}`, `function:${name}`);
      select.add(option);
    });
    select.value = Array.from(select.options).some((o) => o.value === chosen) ? chosen : "";
  }

  // Import and the tools example: the server does them, and its answer replaces the sections.
  async function serverAction(button) {
    const data = new FormData(form);
    data.set("action", button.value);
    const token = form.querySelector("[name=csrf_token]").value;
    let response;
    try {
      response = await fetch(form.action, { method: "POST", body: data,
                                             headers: { "X-CSRFToken": token } });
    } catch (error) {
      response = null;
    }
    const type = response && response.headers.get("content-type") || "";
    if (!response || !response.ok || !type.startsWith("text/html")) {
      form.requestSubmit(button);  // the page's own round trip shows what happened
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    ["conversation", "variables", "tools-editor"].forEach((id) => {
      const fresh = page.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(document.importNode(fresh, true));
    });
    setUp();
    const focus = page.querySelector("#prompt-form [autofocus]");
    focusField(focus && focus.id);
    const said = page.getElementById("turns-status");
    announce(said ? said.textContent.trim() : "");
  }

  // What only the no-JS page needs (Apply role, Find variables) is hidden here.
  function prepare(root) {
    root.querySelectorAll("[data-nojs]").forEach((el) => { el.hidden = true; });
    if (root.matches && root.matches("[data-turn]")) showRole(root);
  }

  function setUp() {
    prepare(form);
    turns().forEach(showRole);
    updateToolChoice();
  }

  let typing = null;
  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target.matches("[data-content]")) {
      count(target);
      window.clearTimeout(typing);
      typing = window.setTimeout(updateVariables, 150);
    } else if (target.id === "tools") {
      updateToolChoice();
    }
  });

  form.addEventListener("change", (event) => {
    const select = event.target.closest("[data-role-select]");
    if (!select) return;
    const turn = select.closest("[data-turn]");
    showRole(turn);
    updateVariables();
    announce(`Turn ${turns().indexOf(turn) + 1} is now a ${ROLE_NAMES[select.value]} turn.`);
  });

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[name=action]");
    if (!button || !form.contains(button)) return;
    const value = button.value;
    let match;
    if ((match = value.match(/^add-(system|developer|user|assistant|tool)$/))) {
      event.preventDefault();
      addTurn(match[1]);
    } else if ((match = value.match(/^delete-(\d+)$/))) {
      event.preventDefault();
      deleteTurn(Number(match[1]));
    } else if ((match = value.match(/^(up|down)-(\d+)$/))) {
      event.preventDefault();
      moveTurn(Number(match[2]), match[1]);
    } else if ((match = value.match(/^remove-image-(\d+)-(\d+)$/))) {
      event.preventDefault();
      removeImage(Number(match[1]), Number(match[2]));
    } else if (value === "clear") {
      event.preventDefault();
      clearConversation();
    } else if (value === "import" || value === "tools-example" || value === "refresh-variables") {
      event.preventDefault();
      serverAction(button);
    }
    // "export": the server's answer is a download; the page stays as it is.
  });

  setUp();
})();
