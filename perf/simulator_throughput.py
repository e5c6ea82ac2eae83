"""Requests per second the simulator serves for small bodies (GET /types), from a keep-alive client in another
process. Usage: python perf/simulator_throughput.py [--requests 20000] [--concurrency 16]"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

import aiohttp


async def hammer(url: str, concurrency: int, per_worker: int) -> tuple[int, float]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"X-Api-Key": "demo-key"}) as session:

        async def worker() -> int:
            ok = 0
            for _ in range(per_worker):
                async with session.get(url) as response:
                    await response.read()
                    ok += response.status == 200
            return ok

        started = time.monotonic()
        results = await asyncio.gather(*(worker() for _ in range(concurrency)))
        return sum(results), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--path", default="/api/v2/benchmarks/types")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "simulator", "--scale", "small", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split("listening on ")[1].split()[0]
        per_worker = args.requests // args.concurrency
        ok, seconds = asyncio.run(hammer(url + args.path, args.concurrency, per_worker))
        print(f"{ok} OK of {per_worker * args.concurrency} requests to {args.path} in {seconds:.2f} s: "
              f"{ok / seconds:,.0f} requests/s ({args.concurrency} concurrent keep-alive connections from an "
              "aiohttp client in another process)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
