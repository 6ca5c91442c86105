# AFI Tracker: the API on SQLite in one container, its data in a volume (see README, "Docker").
#   docker build -t afi-tracker .
#   docker run -d --name afi -p 8000:8000 -v afi-data:/var/lib/afi afi-tracker
# The base image is pinned to a patch release; pin its digest too (python:…@sha256:…) for
# builds that must not change.
ARG PYTHON_IMAGE=python:3.12.12-slim-bookworm

# ---- build: a virtual environment with the dependencies, then the service ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
# The dependencies first, from pyproject.toml alone: this layer is built again only when they
# change, not on every change to the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt
COPY README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-deps . \
    && pip uninstall --yes pip

# ---- runtime: the environment and the seeds; no sources, caches or build files ----
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    AFI_DATABASE_URL=sqlite:////var/lib/afi/afi.db \
    AFI_DATA_DIR=/var/lib/afi/data \
    AFI_SEEDS_DIR=/app/seeds
RUN groupadd --system --gid 10001 afi \
    && useradd --system --uid 10001 --gid afi --no-create-home --home-dir /var/lib/afi \
       --shell /usr/sbin/nologin afi \
    && install -d -o afi -g afi -m 0750 /var/lib/afi
COPY --from=build /opt/venv /opt/venv
COPY seeds /app/seeds
WORKDIR /app
# The database (SQLite) and the evidence files: kept when the container is replaced. A new
# named volume starts as this folder, owned by afi; a bind-mounted folder must be writable by
# uid 10001 (`afi serve` says so in one line and exits 2 otherwise).
VOLUME ["/var/lib/afi"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4).status != 200)"]
# Migrates, loads the seeds into an empty database, then serves with uvicorn.
CMD ["afi", "serve", "--host", "0.0.0.0", "--port", "8000"]
