#!/usr/bin/env python3
"""Probes per-address limits in front of a node's RPC, as one hostile address would.

Setup (docs/operations.md, "Mail hosts"): a node with `--rpc-port 9944 --rpc-methods safe`
(and `--rpc-rate-limit 60` for the last probe), nginx with the example configuration
listening on 127.0.0.1:8088 instead of 443 with TLS. Needs `pip install requests websockets`.

    python3 scripts/rpc-proxy-probe.py [--url http://127.0.0.1:8088]

Prints how many of a burst of HTTP calls were answered or refused, how many of a set of
WebSockets held open were served, and how long calls over one WebSocket take.
"""
import argparse
import asyncio
import collections
import json
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
        answered = reply.status_code == 200 and "result" in reply.json()
        outcomes["answered" if answered else reply.status_code] += 1
    return dict(outcomes), time.time() - start


async def websockets_held(url, count):
    held, refused = [], 0
    for _ in range(count):
        try:
            socket = await websockets.connect(url)
            await socket.send(json.dumps(CALL))
            assert "result" in json.loads(await socket.recv())
            held.append(socket)
        except Exception:  # the proxy refuses the upgrade with 503
            refused += 1
    for socket in held:
        await socket.close()
    return len(held), refused


async def calls_over_one_websocket(url, calls):
    async with websockets.connect(url) as socket:
        start, answered = time.time(), 0
        for _ in range(calls):
            await socket.send(json.dumps(CALL))
            answered += "result" in json.loads(await socket.recv())
        return answered, time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--websockets", type=int, default=12)
    parser.add_argument("--websocket-calls", type=int, default=100)
    args = parser.parse_args()
    ws_url = args.url.replace("http", "ws", 1)

    outcomes, seconds = http_burst(args.url, args.calls)
    print(f"HTTP: {args.calls} calls from one address in {seconds:.2f} s: {outcomes}")
    time.sleep(5)  # let the request budget refill
    held, refused = asyncio.run(websockets_held(ws_url, args.websockets))
    print(f"WebSockets: {args.websockets} opened and held: {held} served, {refused} refused")
    answered, seconds = asyncio.run(calls_over_one_websocket(ws_url, args.websocket_calls))
    print(f"One WebSocket: {answered} of {args.websocket_calls} calls answered in {seconds:.1f} s")


if __name__ == "__main__":
    main()
