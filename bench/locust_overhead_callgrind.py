"""One user, one greenlet, N requests of a ``locust_overhead`` locustfile in-process: for callgrind.

Instruction counts do not move with the machine's load, so they are the figure to iterate on
(bench/README.md, ``locust_overhead.py``). Run it twice under valgrind with two request counts
against a running bench server (``bench/locust_overhead.py --serve PORT``) and subtract, so
start-up cancels out::

    .venv/bin/python bench/locust_overhead.py --serve 18931 &
    for n in 100 600; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg-$n.out \\
        .venv/bin/python bench/locust_overhead_callgrind.py agent $n http://127.0.0.1:18931 \\
        /tmp/cg; done
    # (summary of 600 - summary of 100) / 500 = instructions per request

KIND is ``plain`` or ``agent``; OUT_DIR receives the case file and the agent's requests.csv.
Prints the request and failure counts (all must be requests, no failures) and CPU µs/request.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import locust
from locust import argument_parser
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent))
import locust_overhead  # the bench's case: the one its server's answer is correct for


def main() -> None:
    kind, n, host, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    user_class: type[Any]
    if kind == "plain":
        from locust_overhead_plain import PlainUser  # lazy: only the kind asked for

        user_class = PlainUser
    else:
        from locust_overhead_agent import BenchInvestigator  # lazy: only the kind asked for

        user_class = BenchInvestigator
    args = ["-f", str(Path(__file__).with_name(f"locust_overhead_{kind}.py")), "--host", host]
    if kind == "agent":
        (out / "cases.jsonl").write_text(json.dumps(locust_overhead.CASE) + "\n")
        args += ["--stampede-cases", str(out / "cases.jsonl"),
                 "--stampede-requests-csv", str(out / "requests.csv")]  # fmt: skip
    env = Environment(
        user_classes=[user_class],
        events=locust.events,
        parsed_options=argument_parser.parse_options([*args, "--headless"]),
        host=host,
    )
    env.create_local_runner()
    env.events.test_start.fire(environment=env)
    user_class.host = host
    user = user_class(env)
    started = time.process_time()
    for _ in range(n):
        user_class.investigate(user)
    cpu = time.process_time() - started
    env.events.test_stop.fire(environment=env)
    total = env.stats.total
    print(json.dumps({"requests": total.num_requests, "failures": total.num_failures,
                      "cpu_us_per_request": round(cpu / n * 1e6, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
