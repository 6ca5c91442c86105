FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    AFI_DATABASE_URL=sqlite:////var/lib/afi/afi.db \
    AFI_DATA_DIR=/var/lib/afi/data \
    AFI_SEEDS_DIR=/app/seeds

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seeds ./seeds
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/afi --create-home afi

USER afi
EXPOSE 8000
# Migrates, loads the seeds into an empty database, then serves with uvicorn.
CMD ["afi", "serve", "--host", "0.0.0.0", "--port", "8000"]
