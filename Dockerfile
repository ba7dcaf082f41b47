FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    APP_ENV=production HOST=0.0.0.0 PORT=5000 WORKERS=2

WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alembic ./alembic
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 oauth2 \
    && mkdir -p /srv/data && chown oauth2 /srv/data
USER oauth2

EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=4)"

# Migrate, then serve. SECRET_KEY (and usually DATABASE_URL) must be given at run time.
CMD ["sh", "-c", "alembic upgrade head && exec uvicorn app.asgi:app --host \"$HOST\" --port \"$PORT\" --workers \"$WORKERS\" --loop uvloop --http httptools --proxy-headers --no-access-log"]
