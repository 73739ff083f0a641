// Images of a user turn, uploaded as soon as they are picked. The caps are checked here first
// (5 MB each, 8 images and 20 MB per run), so nothing over them is sent; the server judges
// each file again by its bytes, keeps it, and answers its reference, which joins the turn as
// the same hidden field a no-JS post would give it (a clone of <template id="image-template">).
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  const template = document.getElementById("image-template");
  if (!form || !template || !window.fetch) return;
  const MB = 1024 * 1024;
  const MAX_IMAGE = 5 * MB, MAX_IMAGES = 8, MAX_TOTAL = 20 * MB;
  const TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];

  function say(turn, index, messages) {
    const input = turn.querySelector("[data-upload]");
    let list = turn.querySelector(`#turns-${index}-upload-errors`);
    if (!messages.length) {
      if (list) list.remove();
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", `turns-${index}-upload-hint`);
      return;
    }
    if (!list) {
      list = document.createElement("ul");
      list.className = "errors";
      list.id = `turns-${index}-upload-errors`;
      list.setAttribute("role", "alert");
      input.closest("div").appendChild(list);
    }
    list.replaceChildren(...messages.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `turns-${index}-upload-hint ${list.id}`);
  }

  // What the conversation carries already: every kept image of every user turn.
  function carried() {
    const items = Array.from(form.querySelectorAll("[data-turn] [data-image]"));
    return { count: items.length,
             bytes: items.reduce((sum, item) => sum + Number(item.dataset.size || 0), 0) };
  }

  function check(files) {
    const problems = [];
    const now = carried();
    files.forEach((file) => {
      if (!TYPES.includes(file.type)) {
        problems.push(`"${file.name}" is not a PNG, JPEG, WebP or GIF image.`);
      } else if (file.size > MAX_IMAGE) {
        problems.push(`"${file.name}" is ${(file.size / MB).toFixed(1)} MB; each image may be at most 5 MB.`);
      }
    });
    if (now.count + files.length > MAX_IMAGES) {
      problems.push(`A run may carry at most ${MAX_IMAGES} images; this would make ${now.count + files.length}.`);
    }
    const total = now.bytes + files.reduce((sum, file) => sum + file.size, 0);
    if (total > MAX_TOTAL) {
      problems.push(`The images would add up to ${(total / MB).toFixed(1)} MB; a run may carry at most 20 MB.`);
    }
    return problems;
  }

  function add(turn, index, image) {
    const list = turn.querySelector("[data-image-list]");
    const k = list.querySelectorAll("[data-image]").length;
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelectorAll("input[type=hidden]").forEach((input) => {
      input.name = input.name.replace("__index__", String(index)).replace("__image__", String(k));
    });
    item.querySelector("[data-image-ref]").value = image.ref;
    item.dataset.size = String(image.size || 0);
    const thumb = item.querySelector("[data-thumb]");
    thumb.src = image.src;
    thumb.alt = `Uploaded image: ${image.caption}`;
    if (image.width && image.height) {
      thumb.width = image.width;
      thumb.height = image.height;
    }
    item.querySelector("[data-caption]").textContent = image.caption;
    const remove = item.querySelector("[data-remove-image]");
    remove.value = `remove-image-${index}-${k}`;
    item.querySelectorAll("[data-image-number]").forEach((el) => { el.textContent = String(k + 1); });
    item.querySelectorAll("[data-turn-number]").forEach((el) => { el.textContent = String(index + 1); });
    list.appendChild(item);
    const total = turn.querySelector("[data-image-total]");
    if (total) total.textContent = String(k + 1);
  }

  async function upload(input) {
    const turn = input.closest("[data-turn]");
    const index = Number((input.name.match(/^turns-(\d+)-upload$/) || [])[1]);
    const files = Array.from(input.files || []);
    if (!turn || !files.length || Number.isNaN(index)) return;
    const problems = check(files);
    if (problems.length) {
      input.value = "";
      say(turn, index, problems);
      return;
    }
    const data = new FormData();
    files.forEach((file) => data.append("file", file));
    const token = form.querySelector("[name=csrf_token]").value;
    const status = form.querySelector("#turns-status");
    if (status) status.textContent = "Uploading…";
    let answer;
    try {
      const response = await fetch(form.dataset.uploadUrl, {
        method: "POST", body: data, headers: { "X-CSRFToken": token, Accept: "application/json" } });
      answer = response.ok ? await response.json()
        : { images: [], errors: [response.status === 413 ? "These files are larger than this server accepts (20 MB per run)." : "The upload failed; the files stay picked and go with Run."] };
      if (response.ok) input.value = "";  // kept on the server: the turn carries their references
    } catch (error) {
      answer = { images: [], errors: ["The upload failed; the files stay picked and go with Run."] };
    }
    answer.images.forEach((image) => add(turn, index, image));
    say(turn, index, answer.errors || []);
    if (status) {
      status.textContent = answer.images.length
        ? `${answer.images.length} image${answer.images.length === 1 ? "" : "s"} added to turn ${index + 1}.`
        : "";
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target.matches("[data-upload]")) upload(event.target);
  });
})();
