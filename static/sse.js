// One small SSE reader for a fetch() body, shared by stream.js (a run) and compare.js (each
// lane): EventSource cannot POST a form, so the events are read from the response here.
// Events are separated by a blank line; each event's data is JSON (the server writes it so).
(function () {
  "use strict";

  window.PlaygroundSSE = async function (response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        const data = [];
        block.split("\n").forEach((line) => {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        });
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  };
})();
