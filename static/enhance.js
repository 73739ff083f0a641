// Shows what only works with JavaScript ([data-js-only], hidden in the server's HTML): on load,
// and in content a script puts on the page later. Such a script announces its new content with
// a bubbling "playground:content" event on it, so no script needs to know about another.
(function () {
  "use strict";

  function enhance(root) {
    root.querySelectorAll("[data-js-only]").forEach((el) => { el.hidden = false; });
  }

  enhance(document);
  document.addEventListener("playground:content", (event) => enhance(event.target));
})();
