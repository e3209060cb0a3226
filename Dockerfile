# Two images from one Dockerfile; the command picks the part:
#   agent    (target `agent`, default) the reference agent and the toolbox, nothing of the harness
#              uvicorn target_agent.agent.main:app --host 0.0.0.0 --port 8000   (default command)
#              uvicorn target_agent.toolbox.main:app --host 0.0.0.0 --port 8100
#   harness  (target `harness`) + Locust, Chaos Toolkit, pandas, plotly: k8s/loadgen, k8s/chaos
#
#   docker build --target agent   --tag stampede:dev .           (what `stampede kind deploy` runs)
#   docker build --target harness --tag stampede-harness:dev .
#
# BASE is the Python 3.11 base image, python:3.11-slim by default. Where nothing can be pulled,
# `make image-check` passes a stand-in built with debootstrap (tests/image/engine.sh base).
# Each build stage installs into a virtualenv; the runtime stages get only the finished
# virtualenv and run as a non-root uid that matches runAsUser in k8s/. Always pass --target: the
# classic builder (no BuildKit) builds every stage above the target, so the agent's stages come
# first and an agent build never installs the harness.
ARG BASE=python:3.11-slim
# checkov:skip=CKV_DOCKER_7:FROM ${BASE} - the build argument defaults to the pinned python:3.11-slim; make image-check passes a local stand-in where nothing can be pulled

FROM ${BASE} AS deps-agent
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a source change rebuilds only the last layer.
COPY pyproject.toml README.md ./
# The agent's list is [tool.stampede.images].agent; the harness gets [project].dependencies.
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(d['tool']['stampede']['images']['agent'])); \
open('/tmp/harness.txt', 'w').write('\n'.join(d['project']['dependencies']))" \
    > /tmp/agent.txt \
 && pip install -r /tmp/agent.txt

FROM deps-agent AS build-agent
COPY stampede ./stampede
COPY target_agent ./target_agent
COPY reports ./reports
COPY loadtests ./loadtests
COPY experiments ./experiments
COPY faults ./faults
# The project itself, no dependency beyond the agent + toolbox runtime. pip compiles bytecode: the
# root filesystem is read-only at run time, and importing LangGraph and LangChain from source on
# every pod start would add seconds to each rollout.
RUN pip install --no-deps .

FROM ${BASE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
RUN groupadd --system --gid 10001 stampede \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin stampede
WORKDIR /app
EXPOSE 8000 8100

FROM runtime AS agent
# checkov:skip=CKV_DOCKER_2:No HEALTHCHECK - one image serves the agent and the toolbox on different ports; Kubernetes probes (k8s/base) check each part on its own port and path
COPY --from=build-agent /opt/venv /opt/venv
USER 10001:10001
CMD ["uvicorn", "target_agent.agent.main:app", "--host", "0.0.0.0", "--port", "8000"]

FROM deps-agent AS deps-harness
RUN pip install -r /tmp/harness.txt

FROM deps-harness AS build-harness
COPY --from=build-agent /src /src
RUN pip install --no-deps .

FROM runtime AS harness
# checkov:skip=CKV_DOCKER_2:No HEALTHCHECK - Locust and chaos Jobs are batch processes; Kubernetes probes (k8s/loadgen) check the Locust master
COPY --from=build-harness /opt/venv /opt/venv
# Locust takes a locustfile path; experiments are kept beside it for in-cluster `chaos --no-version-check run`.
COPY loadtests ./loadtests
COPY experiments ./experiments
USER 10001:10001
CMD ["locust", "--help"]
