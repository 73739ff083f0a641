// Copy and download buttons ([data-copy], [data-download]) read the text of the element they
// name. One listener on the document also serves buttons in content added later.
(function () {
  "use strict";

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy], [data-download]");
    if (!button) return;
    event.preventDefault();
    const target = document.querySelector(button.dataset.copy || button.dataset.download);
    if (!target) return;
    const text = target.tagName === "INPUT" ? target.value : target.textContent;
    if (button.dataset.copy) {
      navigator.clipboard.writeText(text).then(
        () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1200); },
        () => { button.textContent = "Copy failed"; });
    } else {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      link.download = button.dataset.filename || "download.txt";
      document.body.appendChild(link);
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    }
  });
})();
