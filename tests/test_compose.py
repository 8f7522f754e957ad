"""docker-compose.yml describes the production deployment the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_every_service_with_the_right_command():
    services = compose()["services"]
    assert {"web", "worker", "beat", "redis", "postgres", "migrate"} <= set(services)
    assert services["web"]["command"][0] == "gunicorn" and "triage.wsgi" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "workers.celery_app", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers.celery_app", "beat"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]


def test_app_services_share_one_image_and_wait_for_migrations():
    services = compose()["services"]
    for name in ("web", "worker", "worker-index", "beat"):
        service = services[name]
        assert service["build"] == "." and service["image"] == "triage:latest"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")


def test_servers_have_healthchecks_and_volumes():
    data = compose()
    for name in ("web", "redis", "postgres", "worker"):
        assert "test" in data["services"][name]["healthcheck"]
    assert {"objects", "postgres", "redis"} <= set(data["volumes"])
    assert (ROOT / "Dockerfile").exists()


def test_app_services_are_restarted_when_they_die():
    services = compose()["services"]
    for name in ("web", "worker", "beat", "nginx", "redis", "postgres"):
        assert services[name]["restart"] in ("unless-stopped", "always"), name


def test_web_recycles_workers_with_jitter_behind_a_buffering_nginx():
    services = compose()["services"]
    command = services["web"]["command"]
    assert int(command[command.index("--max-requests") + 1]) > 0
    assert int(command[command.index("--max-requests-jitter") + 1]) > 0
    assert "ports" not in services["web"], "clients must reach gunicorn through nginx only"
    nginx = services["nginx"]
    assert nginx["image"].startswith("nginx:") and any(p.endswith(":80") for p in nginx["ports"])
    conf_path = nginx["volumes"][0].split(":")[0]
    conf = (ROOT / conf_path).read_text()
    for directive in ("client_max_body_size", "client_body_timeout", "client_header_timeout",
                      "proxy_request_buffering on", "proxy_pass http://web:8000", "X-Forwarded-Proto"):
        assert directive in conf, directive


def queues_of(service: dict) -> set[str]:
    command = service["command"]
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


def test_workers_share_only_the_servers_and_the_object_store():
    services = compose()["services"]
    workers = {name: s for name, s in services.items() if s.get("command", [])[3:4] == ["worker"]}
    assert len(workers) >= 2
    assert set().union(*(queues_of(s) for s in workers.values())) == {"analysis", "index", "periodic"}
    assert queues_of(services["worker-index"]) == {"index"}  # heavy builds never hold up analyses
    mounts = [v.split(":")[0] for s in workers.values() for v in s.get("volumes", [])]
    assert len(mounts) == len(set(mounts)) == len(workers)  # each its own cache volume, nothing shared
    for service in workers.values():
        env = service["environment"]
        assert env["TRIAGE_S3_ENDPOINT_URL"].endswith("http://minio:9000}") and env["TRIAGE_S3_BUCKET"]
        assert env["TRIAGE_CACHE_DIR"] == "/data/cache" and "TRIAGE_STORAGE_DIR" not in env


def test_object_store_runs_the_official_minio_image_and_the_bucket_is_made_first():
    services = compose()["services"]
    minio = services["minio"]
    assert minio["image"].startswith("minio/minio") and "test" in minio["healthcheck"]
    assert "objects:/data" in minio["volumes"]
    assert services["bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "mc mb" in services["bucket"]["entrypoint"][-1]
    for name in ("web", "worker", "worker-index", "beat"):
        assert services[name]["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["AWS_SECRET_ACCESS_KEY"] == services["minio"]["environment"][
            "MINIO_ROOT_PASSWORD"]
