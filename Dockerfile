# The OAuth2 server: migrates the database, then serves, through `fittrackee-oauth2 serve`.
#
#   docker build -t fittrackee-oauth2 .
#   docker compose up -d          (the server with PostgreSQL and Redis: compose.yaml)
#
# Without DATABASE_URL it keeps a SQLite file in /srv/data (mount a volume there).
# Behind a reverse proxy, set FORWARDED_ALLOW_IPS to the proxy's address.
# The base image is pinned to an exact release; pin its digest too where a registry can be
# asked for it (python:3.11.13-slim-bookworm@sha256:...).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Dependencies from the lock only (exact versions, hashes checked), in a layer of their own:
# a change to the code or the README does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# The project itself (no dependencies: they are all above); the migrations stay in /srv,
# where `fittrackee-oauth2` finds them (its working directory).
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN pip install --no-deps . \
    && rm -rf app build ./*.egg-info \
    && useradd --system --create-home --uid 10001 oauth2 \
    && mkdir -p /srv/data \
    && chown oauth2:oauth2 /srv/data

USER oauth2
VOLUME ["/srv/data"]

# SECRET_KEY (32+ characters) and ISSUER must be given at run time: production refuses to
# start without them. More than one worker needs REDIS_URL (compose.yaml sets both).
ENV APP_ENV=production HOST=0.0.0.0 PORT=5000 WORKERS=1 DATA_DIR=/srv/data
EXPOSE 5000

# /health answers 200 only when the database answers (503 JSON otherwise).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '5000'), timeout=4)"]

# Checks the settings and the database (one line and a hint when something is wrong),
# migrates under an advisory lock (replicas may start together), prepares the metrics
# directory for several workers, then becomes uvicorn (same PID: signals reach it).
CMD ["fittrackee-oauth2", "serve", "--migrate"]
