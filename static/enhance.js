// Shows what only works with JavaScript ([data-js-only], hidden in the server's HTML): on load,
// and in content a script puts on the page later. Such a script announces its new content with
// a bubbling "playground:content" event on it, so no script needs to know about another.
// An element that needs a feature's script names it (data-script="<its URL>"): the script is
// loaded once, when such an element first appears, and the element shows once it has loaded.
// So a page's first load carries only the scripts its first view uses (replay.js comes with
// the first result that can be replayed, not with the empty playground).
(function () {
  "use strict";

  const loading = {};  // absolute script URL -> the promise of its load

  function load(src) {
    const url = new URL(src, document.baseURI).href;
    if (!loading[url]) {
      const present = [...document.scripts].some((s) => s.src === url);
      loading[url] = present ? Promise.resolve() : new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading[url];
  }

  function enhance(root) {
    root.querySelectorAll("[data-js-only]").forEach((el) => {
      if (!el.dataset.script) {
        el.hidden = false;
      } else {
        load(el.dataset.script).then(() => { el.hidden = false; }, () => {});
      }
    });
  }

  enhance(document);
  document.addEventListener("playground:content", (event) => enhance(event.target));
})();
