"""python -m simulator: serve the simulated Benchmarks API until Ctrl-C (the first line printed is its URL)."""

import argparse
import sys

from simulator.scales import SCALES
from simulator.server import serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epoch", type=int, default=0)
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    serve_forever(seed=args.seed, scale=args.scale, epoch=args.epoch, api_key=args.api_key,
                  latency_ms=args.latency_ms, fail_rate=args.fail_rate, port=args.port,
                  announce=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
