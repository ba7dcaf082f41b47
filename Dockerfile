# The OAuth2 server: migrates the database, then serves with WORKERS uvicorn processes.
#
#   docker build -t fittrackee-oauth2 .
#   docker run -p 5000:5000 -e SECRET_KEY=... \
#     -e DATABASE_URL=postgresql+asyncpg://user:pass@db:5432/oauth2 fittrackee-oauth2
#
# Without DATABASE_URL it keeps a SQLite file in /srv/data (mount a volume there).
# Behind a reverse proxy, set FORWARDED_ALLOW_IPS to the proxy's address (read by uvicorn).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Dependencies first, in a layer of their own: a change to the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN pip install --no-deps . \
    && useradd --system --create-home --uid 10001 oauth2 \
    && mkdir -p /srv/data \
    && chown oauth2:oauth2 /srv/data

USER oauth2
VOLUME ["/srv/data"]

# SECRET_KEY (32+ characters) must be given at run time: production refuses to start without.
ENV APP_ENV=production HOST=0.0.0.0 PORT=5000 WORKERS=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-metrics
EXPOSE 5000

# /health answers 200 only when the database answers (503 JSON otherwise).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '5000'), timeout=4)"

# Migrate, then serve. The metrics directory is emptied first, as prometheus-client requires
# when several workers share it. The app logs each request itself (JSON), hence no uvicorn
# access log.
CMD ["sh", "-c", "alembic upgrade head && rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec uvicorn app.asgi:app --host \"$HOST\" --port \"$PORT\" --workers \"$WORKERS\" --loop uvloop --http httptools --proxy-headers --no-access-log"]
