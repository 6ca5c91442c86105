"""The trend through a running server: the default 12 months and 12 quarters timed (1 warm-up,
then `--repeats`), and the answers of other ranges and filters once each; every answer's JSON is
saved in `--out`, so that two servers (old code and new) can be compared with `cmp`.

    AFI_PUBLIC_READ=true afi serve --no-worker --port 8731 &
    .venv/bin/python -m bench.trend_http --base http://127.0.0.1:8731 --out /tmp/new --repeats 7
    for f in /tmp/old/*.json; do cmp "$f" /tmp/new/$(basename "$f"); done
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

import httpx


def queries(today: date) -> dict[str, str]:
    found = {"month12": "interval=month", "quarter12": "interval=quarter"}
    for interval in ("month", "quarter"):
        for start, end in (
            (date(2024, 1, 1), today - timedelta(days=200)),
            (today - timedelta(days=3 * 365), today - timedelta(days=1)),
            (today - timedelta(days=40), today - timedelta(days=1)),
            (today - timedelta(days=400), today),
            (date(2013, 1, 1), date(2016, 6, 30)),
            (date(2010, 1, 1), date(2014, 3, 31)),
            (today - timedelta(days=20), today),
            (today - timedelta(days=800), today - timedelta(days=365)),
            (today - timedelta(days=100), today + timedelta(days=40)),
        ):
            found[f"{interval}_{start}_{end}"] = f"interval={interval}&from={start}&to={end}"
        found[f"{interval}_kent"] = f"interval={interval}&force=Kent"
        found[f"{interval}_open"] = f"interval={interval}&status=open"
        found[f"{interval}_as_of"] = f"interval={interval}&as_of={today - timedelta(days=30)}"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    http = httpx.Client(base_url=args.base, timeout=600)
    for name, query in queries(args.today).items():
        timed = name.endswith("12")
        took = []
        for _ in range(args.repeats + 1 if timed else 1):
            started = time.perf_counter()
            body = http.get(f"/api/v1/stats/trend?{query}").content  # a 422 is an answer too
            took.append((time.perf_counter() - started) * 1000)
        took = took[1:] if timed else took
        (args.out / f"{name}.json").write_bytes(body)
        runs = " ".join(f"{value:.0f}" for value in took)
        load = os.getloadavg()[0]
        print(f"{name:<48} p50 {statistics.median(took):8.1f} ms  ({runs})  load {load:.1f}")


if __name__ == "__main__":
    main()
