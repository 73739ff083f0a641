"""The history `make bench-history` searches: runs spread like a real deployment, made once.

Everything is drawn from one seeded generator, so a size always gives the same history:

- 1,000 owners. One heavy owner holds a tenth of the runs (100,000 of 1,000,000); the others
  share the rest unevenly (owner k's weight is 1/(k+1)^0.6), as occasional and regular users do.
- Words come from a fixed vocabulary of 30,000 made-up words, drawn with a Zipf distribution
  (s = 1.05), so a few words are everywhere and most are rare. They are drawn once into a
  pool of sentences of twelve (200,000 for a million runs), and each text is made of
  sentences picked from the pool at random: drawing every word of every run one by one made
  the drawing, not the databases, the slowest part of building a history.
- Prompts are about 25 words (log-normal, up to 400), replies about 180 (up to 1,500).
  One run in five has a system prompt, one in ten is a three-turn conversation, one in twenty
  is streamed and keeps every raw event (the heaviest rows). 93 % complete, 4 % errors,
  2 % stopped, 1 % incomplete.
- The searched words are planted at known rates: PROBES names them. They are not in the
  vocabulary, so their counts are exactly what was planted.

Runs are written by bench/history_bulk.py as ``Store.save_many`` writes them: the same
``Store._values`` as ``Store.save`` (tests/test_history_bulk.py checks the rows are identical).
"""

from __future__ import annotations

import base64
import itertools
import json
import random

from playground.run import Run

SEED = 20261128
VERSION = 3  # bump when the shape changes: cached databases of another version are rebuilt
OWNERS = 1_000
HEAVY_SHARE = 0.10
VOCABULARY = 30_000
SENTENCE = 12  # words
SENTENCES = 200_000  # in the pool, at most
SPAN_S = 365 * 86400  # the runs cover a year, oldest first
EPOCH = 1_764_000_000.0  # the first run's time (late 2025): fixed, so a size is reproducible
SYLLABLES = tuple(c + v for c in "bdfghjklmnprstvz" for v in "aeiou")
ENDINGS = ("", "", "", "n", "r", "s", "l", "m", "t", "x")  # made-up words never end in "ph"
# word -> (who it is planted for, rate); "one" words are planted in exactly one run
PROBES = {
    "quillograph": ("heavy", "one"),
    "marblegraph": ("light", "one"),
    "meridograph": ("all", 0.01),
    "lanternograph": ("all", 0.30),
}
ABSENT = "xylograph"  # in no run: the made-up vocabulary has no word ending in "ph"
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "gemini-1.5-flash", "llama-3.1-70b",
          "mistral-large", "deepseek-chat", "qwen-2.5-72b", "o1-mini", "gpt-4.1",
          "claude-3-haiku", "command-r-plus")


def vocabulary(rng: random.Random) -> list[str]:
    """VOCABULARY distinct made-up words, most frequent first."""
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        size = rng.choice((1, 2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(SYLLABLES) for _ in range(size)) + rng.choice(ENDINGS)
        if len(word) > 2:
            words.setdefault(word)
    found = list(words)
    rng.shuffle(found)
    return found


class History:
    """The generator of one history of ``size`` runs (iterate ``batches``)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rng = random.Random(SEED)
        self.words = vocabulary(self.rng)
        cum = list(itertools.accumulate(1 / (r + 1) ** 1.05 for r in range(VOCABULARY)))
        pool = min(SENTENCES, 1_000 + size // 5)
        drawn = self.rng.choices(self.words, cum_weights=cum, k=SENTENCE * pool)
        self.sentences = [" ".join(drawn[at:at + SENTENCE]) + "."
                          for at in range(0, len(drawn), SENTENCE)]
        token = random.Random(SEED + 1)
        self.heavy = "session:" + _token(token)
        self.owners = [f"session:{_token(token)}" for _ in range(OWNERS - 1)]
        self.owner_cum = list(itertools.accumulate(1 / (k + 1) ** 0.6
                                                   for k in range(OWNERS - 1)))
        self.model_cum = list(itertools.accumulate(1 / (k + 1) for k in range(len(MODELS))))
        # The light owner is the owner of median size: chosen before the runs are drawn,
        # from the weights, so the "one" word can be planted in one of its runs.
        self.light = self.owners[len(self.owners) // 2]
        self.planted_one = {"heavy": None, "light": None}
        self.counts: dict[str, int] = {}

    def text(self, words: int) -> str:
        """``words`` words: sentences from the pool, the last one cut short if need be."""
        whole, part = divmod(words, SENTENCE)
        picked = self.rng.choices(self.sentences, k=whole + (part > 0))
        if part:
            picked[-1] = " ".join(picked[-1].split()[:part]) + "."
        return " ".join(picked)

    def _owner(self) -> str:
        if self.rng.random() < HEAVY_SHARE:
            return self.heavy
        return self.rng.choices(self.owners, cum_weights=self.owner_cum)[0]

    def _plant(self, owner: str, prompt: str, reply: str) -> tuple[str, str]:
        for word, (who, rate) in PROBES.items():
            if rate == "one":
                target = self.heavy if who == "heavy" else self.light
                if owner == target and self.planted_one[who] is None:
                    self.planted_one[who] = word
                    prompt = f"{prompt} {word}"
            elif self.rng.random() < rate:
                if self.rng.random() < 0.5:
                    prompt = f"{prompt} {word}"
                else:
                    reply = f"{word} {reply}"
        return prompt, reply

    def run(self, i: int) -> tuple[Run, str]:
        """Run number ``i`` (oldest first) and its owner."""
        rng, owner = self.rng, self._owner()
        self.counts[owner] = self.counts.get(owner, 0) + 1
        started = EPOCH + SPAN_S * i / self.size + rng.uniform(0, 30)
        model = rng.choices(MODELS, cum_weights=self.model_cum)[0]
        prompt = self.text(min(max(int(rng.lognormvariate(3.2, 0.7)), 2), 400))
        reply = self.text(min(max(int(rng.lognormvariate(5.2, 0.6)), 5), 1500))
        prompt, reply = self._plant(owner, prompt, reply)
        messages = [{"role": "user", "content": prompt}]
        shape = rng.random()
        if shape < 0.2:
            messages.insert(0, {"role": "system", "content": self.text(rng.randint(8, 40))})
        elif shape < 0.3:
            messages[:0] = [{"role": "user", "content": self.text(rng.randint(5, 60))},
                            {"role": "assistant", "content": self.text(rng.randint(20, 300))}]
        request = {"model": model, "messages": messages, "temperature": 0.7}
        state = rng.choices(("complete", "error", "stopped", "incomplete"),
                            cum_weights=(93, 97, 99, 100))[0]
        stream = rng.random() < 0.05
        return self._finished(i, request, reply, state, stream, started), owner

    def _finished(self, i: int, request: dict, reply: str, state: str, stream: bool,
                  started: float) -> Run:
        model, rng = request["model"], self.rng
        prompt_tokens = sum(len(m["content"].split()) for m in request["messages"]) * 4 // 3
        words = reply.split()
        completion = len(words) * 4 // 3
        run = Run(request=request, endpoint="https://api.aimlapi.com/v1/chat/completions",
                  stream=stream, started_at=started, state=state, attempts=1,
                  total_ms=round(rng.lognormvariate(7.3, 0.5), 1),
                  headers={"x-request-id": f"req-{i}", "content-type": "application/json"})
        if state == "error":
            run.status = 429
            return _with_error(run)
        run.status = 200
        run.response = {
            "id": f"gen-{i}", "object": "chat.completion", "created": int(started),
            "model": model, "choices": [{
                "index": 0, "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop" if state == "complete" else None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                      "total_tokens": prompt_tokens + completion}}
        if stream:
            run.ttft_ms = round(rng.uniform(150, 900), 1)
            # One chunk per word, as json.dumps writes it: the words are letters and dots,
            # nothing JSON escapes, so each is set into the chunk's text as it is.
            head, tail = json.dumps({"id": f"gen-{i}", "object": "chat.completion.chunk",
                                     "created": int(started), "model": model, "choices": [
                                         {"index": 0, "delta": {"content": "\0"},
                                          "finish_reason": None}]}).split('"\\u0000"')
            run.events = [f'{head}" {word}"{tail}' for word in words]
        return run

    def batches(self, size: int = 2_000):
        """The runs, oldest first, ``size`` at a time: lists of (run, owner)."""
        for start in range(0, self.size, size):
            yield [self.run(i) for i in range(start, min(start + size, self.size))]


def _token(rng: random.Random) -> str:
    """A session owner id as owners.py makes them (16 bytes, URL-safe), but reproducible."""
    return base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()


def _with_error(run: Run) -> Run:
    from playground.errors import UpstreamError

    run.error = UpstreamError("rate_limit", "Rate limit reached: try again in 20 s.",
                              status=429, body='{"error": {"message": "Rate limit reached"}}')
    return run

