# kr-news-archiver as a container: `scraper serve` in a slim Python image, as a non-root user.
#   docker build -t kr-news-archiver .      (or: docker-compose up -d; see docs/operations.md)
# The archive lives in the /data volume; the config is read from /etc/scraper/scraper.toml
# (the shipped one is baked in; mount your own over it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# a fixed uid/gid, so a bind-mounted archive can be chown'ed to it on the host
RUN groupadd --system --gid 10001 scraper \
    && useradd --system --uid 10001 --gid scraper --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin scraper

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
# the locked runtime dependencies first (exact versions, hashes checked), then the project alone
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY scraper ./scraper
# a regular (not editable) install: the image needs no source tree at run time
RUN pip install --no-deps . && rm -rf build ./*.egg-info

COPY config/scraper.toml /etc/scraper/scraper.toml
RUN mkdir -p /data && chown scraper:scraper /data

# the service's settings for a container: every one can be overridden with -e / environment:
ENV SCRAPER_CONFIG=/etc/scraper/scraper.toml \
    SCRAPER_ARCHIVE=/data \
    SCRAPER_HEALTH_PORT=9108 \
    SCRAPER_LOG_FORMAT=json
VOLUME ["/data"]
USER scraper

# SIGTERM: the crawl finishes its article and the process exits 0 within 10 s
STOPSIGNAL SIGTERM
# /healthz on 127.0.0.1 inside the container; `scraper healthcheck` exits 0 when it answers 200
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD ["scraper", "healthcheck"]
CMD ["scraper", "serve"]
