"""``jobsink validate`` and ``jobsink render``, through typer's runner and the console script."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli import api
from tests.cli.conftest import single_command_app

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
SEEDS = sorted(EXAMPLES.glob("*.yaml"))
JOBSINK = Path(sys.executable).parent / "jobsink"
APP = single_command_app(api.register)
SEED_FILE = (
    b'{"specversion":"1.0","id":"123","source":"my/curl/command","type":"my.demo.event",'
    b'"datacontenttype":"application/json","data":{"details":"JobSinkDemo"}}'
)


def run(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(APP, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_seed_examples_are_valid(runner: CliRunner) -> None:
    assert len(SEEDS) == 4
    code, out, err = run(runner, "validate", *map(str, SEEDS))
    assert code == 0, out
    assert out.splitlines() == [f"{p.stem}: valid" for p in SEEDS]
    assert "warning: spec.job.spec.ttlSecondsAfterFinished is not set" in err


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        pytest.param(
            "restart-policy-always.yaml",
            [
                "job-sink-always: spec.job.spec.template.spec.restartPolicy: Required value: "
                'valid values: "OnFailure", "Never"'
            ],
            id="restart-policy-always",
        ),
        pytest.param(
            "typo.yaml",
            [
                "job-sink-typo: spec.job.spec.template.spec.containers[0].resources.limit: "
                "Forbidden: unknown field",
                "job-sink-typo: spec.job.spec.template.spec.restartpolicy: "
                "Forbidden: unknown field",
            ],
            id="unknown-fields",
        ),
        pytest.param(
            "name-too-long.yaml",
            ["metadata.name: Invalid value"],
            id="name-too-long",
        ),
        pytest.param(
            "event-volume-conflict.yaml",
            ["spec.job.spec.template.spec.volumes[1].name", "volumeMounts[0].mountPath"],
            id="event-volume-conflict",
        ),
        pytest.param(
            "pod-failure-policy-on-failure.yaml",
            ["containerName", "values[0]", "restartPolicy"],
            id="pod-failure-policy",
        ),
    ],
)
def test_invalid_examples(runner: CliRunner, file: str, expected: list[str]) -> None:
    code, out, _ = run(runner, "validate", str(EXAMPLES / "invalid" / file))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(expected)
    for line, fragment in zip(lines, expected, strict=True):
        assert fragment in line


def test_a_directory_stands_for_its_manifests(runner: CliRunner) -> None:
    code, out, _ = run(runner, "validate", str(EXAMPLES))
    assert code == 0
    assert out.splitlines() == [f"{p.stem}: valid" for p in SEEDS]
    code, out, _ = run(runner, "validate", str(EXAMPLES / "invalid"))
    assert code == 1
    assert len(out.splitlines()) == 9


def test_multi_document_stdin_with_json_and_other_kinds(runner: CliRunner) -> None:
    good = yaml.safe_load((EXAMPLES / "job-sink-logger.yaml").read_text())
    bad = json.loads(json.dumps(good))
    bad["metadata"]["name"] = "broken"
    bad["spec"]["job"]["spec"]["completions"] = -1
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}}
    text = "\n---\n".join([json.dumps(good), yaml.safe_dump(service), json.dumps(bad)])
    code, out, err = run(runner, "validate", "-", stdin=text)
    assert code == 1
    assert out.splitlines() == [
        "job-sink-logger: valid",
        "broken: spec.job.spec.completions: Invalid value: -1: must be greater than or equal to 0",
    ]
    assert "-#2: skipped: kind 'Service' is not JobSink" in err


def test_show_defaults_prints_yaml_only(runner: CliRunner) -> None:
    code, out, _ = run(
        runner, "validate", "--show-defaults", str(EXAMPLES / "job-sink-logger.yaml")
    )
    assert code == 0
    (doc,) = yaml.safe_load_all(out)
    container = doc["spec"]["job"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "K_EXECUTION_MODE", "value": "batch"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "cannot read", id="missing-file"),
        pytest.param("a: [1,\n", "cannot parse YAML (line", id="bad-yaml"),
        pytest.param("- 1\n- 2\n", "expected a mapping", id="not-a-mapping"),
    ],
)
def test_unreadable_input_exits_2(
    runner: CliRunner, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "in.yaml"
    if content is not None:
        path.write_text(content)
    code, out, err = run(runner, "validate", str(path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def render_args(*extra: str) -> list[str]:
    return [
        "render",
        str(EXAMPLES / "job-sink-logger.yaml"),
        "--source",
        "my/curl/command",
        "--id",
        "123",
        *extra,
    ]


def test_render_prints_secret_then_job(runner: CliRunner) -> None:
    code, out, _ = run(
        runner, *render_args("--type", "my.demo.event", "--data", '{"details":"JobSinkDemo"}')
    )
    assert code == 0
    secret, job = yaml.safe_load_all(out)
    assert (secret["kind"], job["kind"]) == ("Secret", "Job")
    assert base64.b64decode(secret["data"]["event"]) == SEED_FILE
    assert job["metadata"]["name"] == "job-sink-logger-c7rsxdsek7r6chihxalmkh7qzc"


def test_render_without_data_has_no_data(runner: CliRunner) -> None:
    code, out, _ = run(runner, *render_args())
    assert code == 0
    secret, _ = yaml.safe_load_all(out)
    event = json.loads(base64.b64decode(secret["data"]["event"]))
    assert event == {
        "specversion": "1.0",
        "id": "123",
        "source": "my/curl/command",
        "type": "dev.jobsink.render",
    }


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(render_args("--data", "{nope"), 2, "--data", id="bad-json-data"),
        pytest.param(
            ["render", str(EXAMPLES / "invalid" / "typo.yaml"), "--source", "s", "--id", "i"],
            1,
            "restartpolicy: Forbidden: unknown field",
            id="invalid-sink",
        ),
        pytest.param(
            ["render", str(EXAMPLES / "invalid" / "typo.yaml"), "--source", "", "--id", "i"],
            1,
            "unknown field",
            id="validation-before-event",
        ),
    ],
)
def test_render_errors(runner: CliRunner, args: list[str], code: int, message: str) -> None:
    exit_code, _, err = run(runner, *args)
    assert exit_code == code
    assert message in err
    assert "Traceback" not in err


def test_render_needs_exactly_one_sink(runner: CliRunner, tmp_path: Path) -> None:
    both = tmp_path / "two.yaml"
    both.write_text("\n---\n".join(p.read_text() for p in SEEDS[:2]))
    code, _, err = run(runner, "render", str(both), "--source", "s", "--id", "i")
    assert code == 2
    assert "expected exactly one JobSink, found 2" in err


def test_console_script_validate_and_render() -> None:
    validated = subprocess.run(
        [str(JOBSINK), "validate", *map(str, SEEDS)], capture_output=True, text=True, check=False
    )
    assert validated.returncode == 0, validated.stderr
    assert "job-sink-logger: valid" in validated.stdout
    invalid = subprocess.run(
        [str(JOBSINK), "validate", str(EXAMPLES / "invalid" / "typo.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert invalid.returncode == 1
    rendered = subprocess.run(
        [str(JOBSINK), *render_args()], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    assert [d["kind"] for d in yaml.safe_load_all(rendered.stdout)] == ["Secret", "Job"]


def test_render_namespace_option(runner: CliRunner) -> None:
    code, out, _ = run(runner, *render_args("--namespace", "team-a"))
    assert code == 0
    assert [d["metadata"]["namespace"] for d in yaml.safe_load_all(out)] == ["team-a", "team-a"]
