"""Real-engine benchmark (not a test): time-to-first-token and tokens/s through the gateway
against the engine alone, on the same vLLM engine.

    .venv/bin/python -m bench.engines [--seconds 20] [--concurrency 1 8] [--max-tokens 64] [--ttft-seconds 20]
    .venv/bin/python -m bench.engines --config bench/gpu_check.serve_config.yaml   # on a GPU

It starts the whole stack with `ias up`'s code (Ray Serve in throughput-optimized mode: HAProxy
ingress, gRPC between deployments) on a copy of the serve config holding the chat engine
twice: as configured (first token unbatched, then `stream_batching_interval_ms`), and with Ray
Serve LLM's own batching (50 ms, first flush after the interval: ray issue 59681). Then, for
each engine and concurrency, streaming chat completions with a fixed `max_tokens` (then a
time-to-first-token run: one request at a time, 2 tokens each, many samples):

* **gateway**: HTTP through HAProxy → gateway ingress (auth, budget, metering) → engine;
* **engine**: the same request straight into the `LLMServer` deployment's handle from a
  second Ray driver (no HTTP, no gateway).

Prints a Markdown table and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.common import pct, save_results
from ias_serve.settings import Settings
from ias_serve.stack.embedded import free_port
from ias_serve.stack.stack import Stack

# a local Ray cluster has token auth on (token in ~/.ray/auth_token); read before Ray loads
os.environ.setdefault("RAY_AUTH_MODE", "token")
REPO = Path(__file__).resolve().parents[1]
PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
RAY_DEFAULT = "-ray-batching"  # suffix of the copy with Ray Serve LLM's own batching
TOKEN = re.compile(r'"(?:content|text)":"[^"]')  # an event carrying generated text


@dataclass
class Run:
    engine: str
    path: str  # "gateway" or "engine"
    concurrency: int
    max_tokens: int
    requests: int
    errors: int
    tokens: int
    seconds: float
    tokens_per_s: float
    ttft_p50_ms: float
    ttft_p90_ms: float
    chunks_per_request: float


def body(model: str, max_tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def _usage_tokens(text: str) -> int:
    for event in text.split("\n\n"):
        if event.startswith("data: {") and '"usage":{' in event:
            usage = json.loads(event[6:]).get("usage")
            if usage:
                return int(usage["completion_tokens"])
    return 0


Measured = tuple[list[float], list[int], list[int], int, float]  # ttfts, tokens, chunks, errors, s


async def _drive(one: Any, concurrency: int, seconds: float) -> Measured:
    ttfts: list[float] = []
    tokens: list[int] = []
    chunks: list[int] = []
    errors = 0
    t_end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < t_end:
            try:
                ttft, n, c = await one()
                ttfts.append(ttft)
                tokens.append(n)
                chunks.append(c)
            except Exception:
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ttfts, tokens, chunks, errors, time.perf_counter() - t0


def _run(engine: str, path: str, c: int, max_tokens: int, res: Measured) -> Run:
    ttfts, tokens, chunks, errors, elapsed = res
    return Run(
        engine=engine,
        path=path,
        concurrency=c,
        max_tokens=max_tokens,
        requests=len(ttfts),
        errors=errors,
        tokens=sum(tokens),
        seconds=round(elapsed, 2),
        tokens_per_s=round(sum(tokens) / elapsed, 1),
        ttft_p50_ms=round(pct(ttfts, 0.5) * 1000, 1),
        ttft_p90_ms=round(pct(ttfts, 0.9) * 1000, 1),
        chunks_per_request=round(statistics.mean(chunks), 1) if chunks else 0.0,
    )


async def through_gateway(url: str, key: str, model: str, a: argparse.Namespace, c: int) -> Measured:
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:

        async def one() -> tuple[float, int, int]:
            t0 = time.perf_counter()
            ttft, seen, n_chunks = None, "", 0
            async with s.post(url, json=body(model, a.max_tokens), headers=headers) as r:
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}: {await r.text()}")
                async for chunk in r.content.iter_any():
                    text = chunk.decode()
                    n_chunks += 1
                    if ttft is None and TOKEN.search(text):
                        ttft = time.perf_counter() - t0
                    seen = (seen + text)[-4096:]
            return (ttft or time.perf_counter() - t0), _usage_tokens(seen), n_chunks

        return await _drive(one, c, a.seconds)


async def engine_alone(handle: Any, model: str, a: argparse.Namespace, c: int) -> Measured:
    streaming = handle.options(stream=True)

    async def one() -> tuple[float, int, int]:
        t0 = time.perf_counter()
        ttft, last, n_batches = None, "", 0
        async for batch in streaming.chat.remote(body(model, a.max_tokens)):
            text = "".join(batch)
            n_batches += 1
            if ttft is None and TOKEN.search(text):
                ttft = time.perf_counter() - t0
            last = text
        return (ttft or time.perf_counter() - t0), _usage_tokens(last), n_batches

    return await _drive(one, c, a.seconds)


def bench_config(src: Path, dest: Path, chat_engine: str | None, source: str | None) -> tuple[str, str]:
    """A copy of `src` with the chat engine twice (as configured, and with Ray's own batching)
    and no other LLM engine. Returns (engine name, public model name) of the configured one."""
    doc = yaml.safe_load(src.read_text())
    gateway = next(app for app in doc["applications"] if app["name"] == "gateway")
    engines = gateway["args"]["engines"]
    llms = [e for e in engines if e["kind"] == "llm" and (chat_engine is None or e["name"] == chat_engine)]
    if not llms:
        raise SystemExit(f"{src}: no LLM engine{f' named {chat_engine}' if chat_engine else ''}")
    chat = llms[0]
    if source:
        chat["llm_config"]["model_loading_config"]["model_source"] = source
    ray_default = json.loads(json.dumps(chat))
    ray_default["name"] = chat["name"] + RAY_DEFAULT
    ray_default["models"] = ["bench" + RAY_DEFAULT]
    ray_default["llm_config"]["experimental_configs"] = {
        "stream_batching_interval_ms": 50,
        "ias_first_token_unbatched": False,
    }
    chat = {**chat, "models": ["bench-chat"]}
    gateway["args"]["engines"] = [e for e in engines if e["kind"] == "echo"] + [chat, ray_default]
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return chat["name"], "bench-chat"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", type=Path, default=REPO / "serve_config.yaml")
    p.add_argument("--engine", default=None, help="chat engine of the config (default: the first LLM)")
    p.add_argument("--model-source", default=None, help="override the chat engine's model_source")
    p.add_argument("--seconds", type=float, default=20.0, help="per run")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument(
        "--ttft-seconds", type=float, default=20.0, help="per TTFT run (one at a time, 2 tokens each)"
    )
    a = p.parse_args()

    # `kill` as well as Ctrl-C stops what was started (the `finally` below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    home = Path(tempfile.mkdtemp(prefix="ias-bench-engines-"))
    config = home / "serve_config.bench.yaml"
    chat, _ = bench_config(a.config.resolve(), config, a.engine, a.model_source)
    os.chdir(REPO)  # the serve config's import paths are relative to the repository
    settings = Settings(home=home, serve_port=free_port(), serve_config=config, log_level="WARNING")
    stack = Stack(settings)
    try:
        print(f"starting the stack (ias up) with {config} …", flush=True)
        t0 = time.monotonic()
        stack.up()
        print(f"ready in {time.monotonic() - t0:.0f} s", flush=True)
        runs = asyncio.run(measure(stack, chat, a))
        report(runs, a, chat)
    finally:
        stack.down()


async def measure(stack: Stack, chat: str, a: argparse.Namespace) -> list[Run]:
    import ray
    from ray import serve

    from ias_serve.stack.state import StackState
    from tests.component.gateway_harness import make_tenant

    db_url = StackState.load(stack.home).processes["postgres"].url
    key = (await make_tenant(db_url, limit=10**15)).key
    status = json.loads(stack.paths.serve_status.read_text())
    ray.init(address=status["gcs_address"], namespace="serve", log_to_driver=False)
    url = f"{stack.base_url}/v1/chat/completions"
    runs: list[Run] = []
    try:
        for engine, model in ((chat, "bench-chat"), (chat + RAY_DEFAULT, "bench" + RAY_DEFAULT)):
            handle = serve.get_deployment_handle(f"LLMServer:{engine}", app_name="gateway")
            await through_gateway(url, key, model, argparse.Namespace(**{**vars(a), "seconds": 3}), 1)  # warm
            phases = [(c, a.max_tokens, a.seconds) for c in a.concurrency] + [(1, 2, a.ttft_seconds)]
            for c, max_tokens, seconds in phases:
                args = argparse.Namespace(**{**vars(a), "max_tokens": max_tokens, "seconds": seconds})
                for path in ("engine", "gateway"):
                    if path == "engine":
                        res = await engine_alone(handle, model, args, c)
                    else:
                        res = await through_gateway(url, key, model, args, c)
                    run = _run(engine, path, c, max_tokens, res)
                    runs.append(run)
                    print(
                        f"  {engine:<36} c={c:<3} max_tokens={max_tokens:<4} {path:<8} "
                        f"{run.tokens_per_s:>7} tok/s  TTFT p50 {run.ttft_p50_ms} ms  "
                        f"p90 {run.ttft_p90_ms} ms  {run.requests} req  {run.errors} errors",
                        flush=True,
                    )
    finally:
        ray.shutdown()
    return runs


def report(runs: list[Run], a: argparse.Namespace, chat: str) -> None:
    rows = [
        "| engine streaming | concurrency | max_tokens | engine alone tok/s | gateway tok/s | "
        "gateway / engine | TTFT p50 engine / gateway ms | TTFT p90 engine / gateway ms | requests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for engine in (chat, chat + RAY_DEFAULT):
        label = "first token unbatched, then 20 ms" if engine == chat else "Ray default (50 ms batches)"
        for c, max_tokens in [(c, a.max_tokens) for c in a.concurrency] + [(1, 2)]:
            e, g = (
                next(
                    r
                    for r in runs
                    if (r.engine, r.concurrency, r.max_tokens, r.path) == (engine, c, max_tokens, p)
                )
                for p in ("engine", "gateway")
            )
            ratio = round(g.tokens_per_s / e.tokens_per_s, 3) if e.tokens_per_s else float("nan")
            rows.append(
                f"| {label} | {c} | {max_tokens} | {e.tokens_per_s} | {g.tokens_per_s} | {ratio} | "
                f"{e.ttft_p50_ms} / {g.ttft_p50_ms} | {e.ttft_p90_ms} / {g.ttft_p90_ms} | "
                f"{e.requests} / {g.requests} |"
            )
    save_results("engines", runs, "\n".join(rows), args={k: str(v) for k, v in vars(a).items()})


if __name__ == "__main__":
    main()
