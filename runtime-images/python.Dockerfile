# syntax=docker/dockerfile:1
# Every Python processor and runtime image, from this one definition (cdk/image-builds.ts says which
# folder builds how). Build context: runtime-images/ (the shared packages live in python/):
#   docker build -f python.Dockerfile --target runtime \
#     --build-arg IMAGE=tabular-runtime --build-arg PACKAGE=byom_scorer runtime-images
# IMAGE: the folder whose pinned requirements.txt the venv holds. PACKAGE: the package under
# python/ the image runs (`python -m PACKAGE`). --target: runtime (serves on 8080) or processor.
ARG PYTHON_BASE=python:3.11.7-slim-bookworm

# Every dependency installs from a wheel (no compiler): the build stage only keeps pip and its
# caches out of the final image; the venv runs unchanged there (same interpreter at the same path).
# --no-deps: nothing unpinned sneaks in.
FROM ${PYTHON_BASE} AS build
ARG IMAGE
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY ${IMAGE}/requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps -r /tmp/requirements.txt \
    && find /opt/venv -name "__pycache__" -type d -prune -exec rm -rf {} +

FROM ${PYTHON_BASE} AS common
ARG PACKAGE
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin byom
COPY --from=build /opt/venv /opt/venv
COPY python/byom_ready /app/byom_ready
COPY python/${PACKAGE} /app/${PACKAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    BYOM_PACKAGE=${PACKAGE}
WORKDIR /app
# `python -m $BYOM_PACKAGE` in exec form (ENTRYPOINT does not expand variables), so python stays
# PID 1 and receives the task's SIGTERM.
ENTRYPOINT ["python", "-c", "import os, runpy; runpy.run_module(os.environ['BYOM_PACKAGE'], run_name='__main__', alter_sys=True)"]

FROM common AS processor
# The tabular runtime's pins: scikit-learn models saved by another version are refused (byom_ready/compat.py).
COPY tabular-runtime/requirements.txt /app/runtime-pins/tabular-runtime/requirements.txt
USER 10001
# A run-to-completion task: no port, nothing to probe.
HEALTHCHECK NONE

FROM common AS runtime
# libgomp1: the OpenMP runtime that XGBoost, LightGBM, torch and MXNet load.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
ENV MPLCONFIGDIR=/tmp HOME=/tmp
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status != 200)"]
