# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TRIAGE_VAR_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends binutils xz-utils curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY triage triage
COPY workers workers
RUN pip install --no-cache-dir .
COPY . .
RUN DEBUG=0 SECRET_KEY=build python manage.py collectstatic --noinput -v 0
# Volumes mount over /data/storage and /data/cache: they must exist, owned by the app's user, in the image.
RUN useradd --system --home /data triage && mkdir -p /data/storage /data/cache && chown -R triage /data
USER triage
EXPOSE 8000
CMD ["gunicorn", "triage.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120"]
