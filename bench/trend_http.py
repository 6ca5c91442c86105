"""The trend through a running server: the default 12 months and 12 quarters timed (1 warm-up,
then `--repeats`), and the answers of other ranges and filters once each; every answer's JSON is
saved in `--out`, so that two servers (old code and new) can be compared with `cmp`.

    AFI_PUBLIC_READ=true afi serve --no-worker --port 8731 &
    .venv/bin/python -m bench.trend_http --base http://127.0.0.1:8731 --out /tmp/new --repeats 7
    for f in /tmp/old/*.json; do cmp "$f" /tmp/new/$(basename "$f"); done

`--set filters`: the trend with the filters the kept groups answer (status, RAG, assigned or
not, programme; alone and together), 12 months and 12 quarters timed, other ranges once, and
a few other shapes (a force, a range ending after today, `as_of`).

`--set future`: ranges ending after today, without filters and with each of those filters,
every one timed.
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


# Filters the kept groups answer (app.services.day_groups), by name.
FILTERS = {
    "open": "status=open",
    "open_in_progress": "status=open&status=in_progress",
    "peel": "programme=PEEL",
    "red": "rag=red",
    "green_amber": "rag=green&rag=amber",
    "assigned": "unassigned=false",
    "unassigned": "unassigned=true",
    "open_peel": "status=open&programme=PEEL",
    "red_unassigned": "rag=red&unassigned=true",
    "blocked_amber_assigned": "status=blocked&rag=amber&unassigned=false",
    "cdi_in_progress": "programme=cdi&status=in_progress",
}


def filtered_queries(today: date) -> dict[str, str]:
    found = {}
    for interval in ("month", "quarter"):
        for name, filters in FILTERS.items():
            found[f"{interval}_{name}_12"] = f"interval={interval}&{filters}"
    for name, interval, start, end, filters in (
        ("open_2024", "month", date(2024, 1, 1), today - timedelta(days=200), FILTERS["open"]),
        (
            "peel_3y",
            "quarter",
            today - timedelta(days=3 * 365),
            today - timedelta(days=1),
            FILTERS["peel"],
        ),
        ("red_400", "month", today - timedelta(days=400), today, FILTERS["red"]),
        ("unassigned_2013", "quarter", date(2013, 1, 1), date(2016, 6, 30), FILTERS["unassigned"]),
        (
            "open_ip_40",
            "month",
            today - timedelta(days=40),
            today - timedelta(days=1),
            FILTERS["open_in_progress"],
        ),
        (
            "open_peel_800",
            "month",
            today - timedelta(days=800),
            today - timedelta(days=365),
            FILTERS["open_peel"],
        ),
        ("completed_q", "quarter", today - timedelta(days=700), today, "status=completed"),
        (
            "open_future",
            "month",
            today - timedelta(days=100),
            today + timedelta(days=40),
            FILTERS["open"],
        ),
        ("open_kent", "month", today - timedelta(days=300), today, "status=open&force=Kent"),
    ):
        found[f"{interval}_{name}"] = f"interval={interval}&from={start}&to={end}&{filters}"
    found["quarter_green_amber"] = "interval=quarter&rag=green&rag=amber"
    yesterday = today - timedelta(days=1)
    found["month_pending_assigned"] = (
        f"interval=month&to={yesterday}&status=pending_sign_off&unassigned=false"
    )
    found["month_open_as_of"] = f"interval=month&status=open&as_of={today - timedelta(days=30)}"
    return found


def future_queries(today: date) -> dict[str, str]:
    """Ranges ending after today, without filters and with each of FILTERS: a year of months
    to 60 days ahead, two years of quarters to 120 days ahead."""
    found = {}
    for interval, back, ahead in (("month", 365, 60), ("quarter", 730, 120)):
        start, end = today - timedelta(days=back), today + timedelta(days=ahead)
        for name, filters in {"all": "", **FILTERS}.items():
            query = f"interval={interval}&from={start}&to={end}"
            found[f"{interval}_{name}_future"] = query + (f"&{filters}" if filters else "")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    parser.add_argument("--set", choices=("plain", "filters", "future"), default="plain")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    http = httpx.Client(base_url=args.base, timeout=600)
    shapes = {"plain": queries, "filters": filtered_queries, "future": future_queries}[args.set]
    for name, query in shapes(args.today).items():
        timed = name.endswith("12") or args.set == "future"
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
