"""The benchmark's fake upstream speaks the JSON and SSE that the app's ChatClient parses.

Correctness only: timings are for `make bench`, never asserted here.
"""

import pytest

from bench.procs import start_upstream
from playground.upstream import ChatClient


@pytest.fixture(scope="module")
def bench_upstream():
    upstream = start_upstream("test-upstream")
    yield upstream
    upstream.proc.stop()


def test_chat_client_reads_bench_upstream_json_and_sse(bench_upstream):
    client = ChatClient(bench_upstream.base_url, "sk-test", max_retries=0)
    messages = [{"role": "user", "content": "hi"}]

    run = client.complete({"model": "bench/markdown/3000", "messages": messages})
    assert run.error is None and run.state == "complete"
    content = run.response["choices"][0]["message"]["content"]
    assert "```python" in content and 2500 < len(content) <= 3000
    assert run.response["usage"]["total_tokens"] == 17

    call = client.stream({"model": "bench/stream/1/5", "messages": messages,
                          "stream_options": {"include_usage": True}})
    deltas = [text for kind, text in call if kind == "content"]
    call.close()
    assert call.run.error is None and call.run.state == "complete"
    assert len(deltas) == 5 and deltas[0].startswith("r=") and all("t=" in d for d in deltas)
    assert call.run.response["usage"]["total_tokens"] == 17
