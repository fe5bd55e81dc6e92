# Marquee: one image for web (the default command), worker, scheduler and
# migrations; docker-compose.yml picks the command for each.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user to run as; it owns nothing but var/ (the local mailbox).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that code changes reuse this layer. psycopg[binary]
# and orjson ship wheels: no compiler or libpq needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code stays root-owned, so the app cannot modify itself.
COPY . .
RUN mkdir -p var && chown app:app var

# Numeric, so that platforms can verify it is not root (e.g. runAsNonRoot).
USER 10001:10001
EXPOSE 8000
# No HEALTHCHECK here: worker and scheduler serve no HTTP. docker-compose.yml
# checks web's /healthz.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
