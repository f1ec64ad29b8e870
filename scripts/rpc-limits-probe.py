#!/usr/bin/env python3
"""Probes a node's per-address RPC limits, as one hostile address would.

Setup (docs/operations.md, "Mail hosts"): a node with `--public-rpc-addr 127.0.0.1:9945`,
or a proxy with per-address limits in front of a node's `--rpc-port`. Needs
`pip install requests websockets`.

    python3 scripts/rpc-limits-probe.py [--url http://127.0.0.1:9945]

Prints how many of a burst of HTTP calls were answered or refused (by HTTP status or
JSON-RPC error code), how many of a set of WebSockets held open were served, and how long
calls over one WebSocket take.
"""
import argparse
import asyncio
import collections
import json
import statistics
import time

import requests
import websockets

CALL = {"jsonrpc": "2.0", "id": 1, "method": "system_health", "params": []}


def http_burst(url, calls):
    outcomes = collections.Counter()
    session = requests.Session()
    start = time.time()
    for _ in range(calls):
        reply = session.post(url, json=CALL)
        if reply.status_code != 200:
            outcomes[f"HTTP {reply.status_code}"] += 1
        elif "result" in reply.json():
            outcomes["answered"] += 1
        else:
            outcomes[f"error {reply.json()['error']['code']}"] += 1
    return dict(outcomes), time.time() - start


async def websockets_held(url, count):
    held, refused = [], 0
    for _ in range(count):
        try:
            socket = await websockets.connect(url)
            await socket.send(json.dumps(CALL))
            assert "result" in json.loads(await socket.recv())
            held.append(socket)
        except Exception:  # the upgrade refused (429 from the node, 503 from nginx)
            refused += 1
    for socket in held:
        await socket.close()
    return len(held), refused


async def calls_over_one_websocket(url, calls):
    async with websockets.connect(url) as socket:
        start, answered, latencies = time.time(), 0, []
        for _ in range(calls):
            sent = time.perf_counter()
            await socket.send(json.dumps(CALL))
            answered += "result" in json.loads(await socket.recv())
            latencies.append(time.perf_counter() - sent)
        return answered, time.time() - start, statistics.quantiles(latencies, n=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:9945")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--websockets", type=int, default=12)
    parser.add_argument("--websocket-calls", type=int, default=100)
    parser.add_argument("--pause", type=float, default=5, help="seconds between probes")
    args = parser.parse_args()
    ws_url = args.url.replace("http", "ws", 1)

    outcomes, seconds = http_burst(args.url, args.calls)
    print(f"HTTP: {args.calls} calls from one address in {seconds:.2f} s: {outcomes}")
    time.sleep(args.pause)  # let the call budget refill
    held, refused = asyncio.run(websockets_held(ws_url, args.websockets))
    print(f"WebSockets: {args.websockets} opened and held: {held} served, {refused} refused")
    answered, seconds, centiles = asyncio.run(calls_over_one_websocket(ws_url, args.websocket_calls))
    print(
        f"One WebSocket: {answered} of {args.websocket_calls} calls answered in {seconds:.1f} s,"
        f" p50 {centiles[49] * 1e3:.2f} ms, p99 {centiles[98] * 1e3:.2f} ms a call"
    )


if __name__ == "__main__":
    main()
