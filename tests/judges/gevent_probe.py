"""Run the LLM judge from greenlets in a gevent-patched process (as inside Locust).

``python -m tests.judges.gevent_probe BASE_URL`` prints one JSON line: the outcomes of a
slow judgement and 4 paused ones started after it (concurrency 2) and the seconds they took.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from stampede.judges import LLMJudge, LLMJudgeConfig  # noqa: E402
from tests.judges.support import case  # noqa: E402


def main(base_url: str) -> None:
    judge = LLMJudge(LLMJudgeConfig(base_url, "fake", concurrency=2, timeout_s=10))
    started = time.monotonic()
    jobs = [gevent.spawn(judge.judge, case("g-slow", label="x"), "x SLOW")]
    jobs += [gevent.spawn(judge.judge, case(f"g{n}", label="x"), "x PAUSE") for n in range(4)]
    gevent.joinall(jobs, timeout=20)
    outcomes = [str(job.value.outcome) for job in jobs]
    print(json.dumps({"outcomes": outcomes, "seconds": time.monotonic() - started}))
    judge.close()


if __name__ == "__main__":
    main(sys.argv[1])
