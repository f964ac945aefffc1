"""docker-compose.yml, the Dockerfile and .env.example, checked structurally (no Docker engine here)."""

from pathlib import Path

import yaml

from chat_server.config import ChatSettings
from platform_api.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARS = {name.upper() for name in (*Settings.model_fields, *ChatSettings.model_fields)}


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example_keys() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]


def test_compose_has_every_service_with_a_healthcheck() -> None:
    services = compose()["services"]
    assert {"mongo", "redis", "minio", "mailpit", "platform", "chat", "worker"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, name


def test_mongo_runs_as_a_replica_set_that_initialises_itself() -> None:
    mongo = compose()["services"]["mongo"]
    assert mongo["image"].startswith("mongo:7")
    assert "--replSet" in mongo["command"]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])


def test_both_services_build_one_image_wait_for_dependencies_and_get_their_env() -> None:
    services = compose()["services"]
    for name in ("platform", "chat", "worker"):
        service = services[name]
        assert service["build"] == "."
        assert service["depends_on"]["mongo"] == {"condition": "service_healthy"}
        env = service["environment"]
        assert "replicaSet=rs0" in env["MONGODB_URI"]
        assert env["ENVIRONMENT"] == "production"
        for key in ("JWT_SECRET", "INTERNAL_API_TOKEN", "REDIS_URL"):
            assert key in env, (name, key)
        unknown = set(env) - SETTINGS_VARS
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
    assert "platform_api.main:app_from_env" in services["platform"]["command"]
    assert "chat_server.app:app_from_env" in services["chat"]["command"]
    assert services["worker"]["command"][-1] == "platform_api.worker"
    # exactly one place runs the scheduled jobs in the compose stack
    assert services["platform"]["environment"]["SCHEDULER_ENABLED"] == "false"


def test_dockerfile_installs_the_project_and_runs_unprivileged() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("# ") and "FROM python:3.11" in text
    for package in ("shared_models", "platform_api", "chat_server"):
        assert f"COPY {package}" in text
    assert "USER app" in text
    # The admin console is built in a stage of its own and only its bundle is copied into the image.
    assert "python -m scripts.console build" in text
    assert "COPY --from=console /app/platform_api/admin/web/dist ./platform_api/admin/web/dist" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "**/node_modules/" in ignored and ".data/" in ignored


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    keys = env_example_keys()
    assert len(keys) == len(set(keys)), "duplicate keys in .env.example"
    assert set(keys) == SETTINGS_VARS


def test_env_example_parses_as_valid_settings() -> None:
    assert Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert ChatSettings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
