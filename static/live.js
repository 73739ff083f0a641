// Live markdown while a reply streams: stream.js hands each "snapshot" event here. A snapshot
// is the server's own sanitized HTML (the renderer of the final result), sent as a change:
// keep the first `keep` finished blocks, append the `add` ones, replace the growing `tail`.
// Finished blocks are never touched again, so nothing above the tail moves; the view follows
// the bottom only while the reader is at the bottom. Raw deltas the next snapshot has not
// caught up with yet stay hidden, unless none comes for a while, when they show as plain text
// (textContent). Past the live size cap the server says so once; from there, raw text.
(function () {
  "use strict";

  const RAW_AFTER_MS = 500;  // raw text shows if no snapshot has covered it by then

  function atBottom() {
    const root = document.documentElement;
    return window.innerHeight + window.scrollY >= root.scrollHeight - 24;
  }

  window.PlaygroundLive = function (live, text) {
    let on = false;
    let stopped = false;
    let raw = "";
    let covered = 0;  // characters of raw text the shown snapshot covers
    let pieceNodes = [];  // how many nodes each finished piece added, in order
    let timer = null;

    function showRaw() {
      timer = null;
      text.textContent = raw.slice(covered);
    }

    function parse(html) {
      const holder = document.createElement("template");
      holder.innerHTML = html;  // sanitized by the server (nh3): never a raw delta
      return holder.content;
    }

    function keepFollowing(change) {
      const follow = atBottom();
      const y = window.scrollY;
      change();
      if (follow) window.scrollTo(0, document.documentElement.scrollHeight);
      else if (window.scrollY !== y) window.scrollTo(0, y);
    }

    return {
      start() {
        on = true;
        live.hidden = false;
      },
      text(delta) {
        raw += delta;
        if (!on || stopped) {
          text.textContent += delta;
        } else if (timer === null) {
          timer = setTimeout(showRaw, RAW_AFTER_MS);
        }
      },
      snapshot(data) {
        if (!on || stopped) return;
        covered = Math.min(data.chars || 0, raw.length);
        keepFollowing(() => {
          if (data.stopped !== undefined) {
            stopped = true;
            live.appendChild(parse(data.stopped));
            text.textContent = raw.slice(covered);
            return;
          }
          const kept = pieceNodes.slice(0, data.keep).reduce((a, b) => a + b, 0);
          pieceNodes = pieceNodes.slice(0, data.keep);
          while (live.childNodes.length > kept) live.lastChild.remove();
          (data.add || []).forEach((html) => {
            const nodes = parse(html);
            pieceNodes.push(nodes.childNodes.length);
            live.appendChild(nodes);
          });
          live.appendChild(parse(data.tail || ""));
          text.textContent = "";  // the snapshot now shows what was raw
        });
        if (timer !== null) { clearTimeout(timer); timer = null; }
        if (raw.length > covered) timer = setTimeout(showRaw, RAW_AFTER_MS);
      },
      end() {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        if (on) text.textContent = raw.slice(covered);
        text.classList.remove("streaming-text");
        live.classList.add("live-ended");
      },
    };
  };
})();
