"""The deployment files the README's Deployment section names, read as their tools read them.

Docker is not run here: compose.yaml is parsed as YAML (merge keys resolved, as compose does), and every
command line in the Procfile, the systemd units, compose.yaml and the Dockerfile is parsed by the very click
command it starts, so a renamed option or a bad value fails here rather than at an operator's boot.
"""

from __future__ import annotations

import configparser
import dataclasses
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from app.cli import cli
from app.config import Config

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
# Variables the commands read besides Config's fields: gunicorn's trusted proxies (serve --forwarded-allow-ips).
CLICK_ENV = {"FORWARDED_ALLOW_IPS"}


def parsed(argv: list[str]) -> tuple[str, click.Context]:
    """`outage-desk ARGV` as click parses it (options and their types checked), without running it."""
    assert argv[0].endswith("outage-desk"), argv
    command = cli.commands[argv[1]]
    return argv[1], command.make_context(argv[1], argv[2:])


def test_the_procfile_runs_a_web_node_on_the_platform_port_and_a_worker():
    lines = [line for line in (REPO / "Procfile").read_text().splitlines() if line.strip()]
    processes = dict(re.fullmatch(r"([a-z]+): (.+)", line).groups() for line in lines)

    assert processes.keys() == {"web", "worker"}
    # The platform sets PORT (Heroku, foreman, honcho); the shell expands it, 8000 without it.
    name, web = parsed(shlex.split(processes["web"].replace("${PORT:-8000}", "5000")))
    assert name == "serve" and web.params["bind"] == "0.0.0.0:5000"
    assert parsed(shlex.split(processes["worker"]))[0] == "worker"


@pytest.mark.parametrize(("unit", "command"), [("outage-desk-web.service", "serve"),
                                               ("outage-desk-worker.service", "worker")])
def test_each_systemd_unit_runs_its_command_as_a_dedicated_user_with_the_env_file_and_restarts(unit, command):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(UNITS / unit)
    service = parser["Service"]

    assert parsed(shlex.split(service["ExecStart"]))[0] == command
    assert service["User"] == service["Group"] == "outage-desk"
    assert service["EnvironmentFile"] == "/etc/outage-desk/outage-desk.env"
    assert service["Restart"] in {"on-failure", "always"} and service["KillSignal"] == "SIGTERM"
    assert service["ReadWritePaths"] == service["WorkingDirectory"]
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_the_env_file_names_only_settings_outage_desk_reads():
    example = (REPO / "deploy" / "outage-desk.env.example").read_text()
    names = {line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")}
    settings = {field.name.upper() for field in dataclasses.fields(Config)} | CLICK_ENV

    assert names - settings == set()
    assert {"ZENDESK_SUBDOMAIN", "ZENDESK_API_TOKEN", "OUTAGE_DESK_SECRET_KEY", "DATABASE_URL"} <= names


def test_compose_runs_two_web_nodes_behind_nginx_and_two_workers_on_one_postgresql():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    ours = {name: service for name, service in services.items() if service.get("image") == "outage-desk:local"}
    commands = {name: parsed(["outage-desk", *service["command"]]) for name, service in ours.items()}

    assert services.keys() == {"postgres", "nginx", *ours}
    webs = sorted(name for name, (command, _) in commands.items() if command == "serve")
    workers = sorted(name for name, (command, _) in commands.items() if command == "worker")
    assert len(webs) == 2 and len(workers) == 2 and len(ours) == 4
    for service in ours.values():
        assert service["build"] == "." and service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert re.fullmatch(r"postgresql://outage_desk:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres/outage_desk",
                            service["environment"]["DATABASE_URL"])
    assert (REPO / "Dockerfile").is_file()
    # nginx spreads over exactly the web services, at the port each binds.
    mount = next(volume for volume in services["nginx"]["volumes"] if volume.endswith("default.conf:ro"))
    conf = (REPO / mount.split(":")[0]).read_text()
    upstream = set(re.findall(r"^\s*server (\S+)", re.search(r"upstream outage_desk \{(.*?)\}", conf, re.S)[1],
                              re.M))
    binds = {commands[name][1].params["bind"].replace("0.0.0.0", name) for name in webs}
    assert upstream == binds


def test_the_image_starts_a_web_node_by_default():
    dockerfile = (REPO / "Dockerfile").read_text()
    entrypoint = yaml.safe_load(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.M)[1])
    command = yaml.safe_load(re.search(r"^CMD (.+)$", dockerfile, re.M)[1])

    name, serve = parsed([*entrypoint, *command])
    assert name == "serve" and serve.params["bind"] == "0.0.0.0:8000"
    assert re.search(r"^USER outage-desk$", dockerfile, re.M)
