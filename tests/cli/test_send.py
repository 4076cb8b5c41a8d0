"""``jobsink send``: the bytes on the wire (pure) and the command over a loopback socket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import send
from cli.exits import ExitCode
from jobsink.event import EventError
from receiver.dataplane import wire
from tests.cli.conftest import Answer, Loopback, single_command_app

APP = single_command_app(send.register)
SEED = send.Outgoing(
    source="my/curl/command",
    type="my.demo.event",
    id="123",
    data=b'{"details":"JobSinkDemo"}',
    content_type="application/json",
)


def test_binary_request_matches_the_seed_curl() -> None:
    request = send.binary_request(SEED)
    assert request.headers == {
        "ce-specversion": "1.0",
        "ce-id": "123",
        "ce-source": "my/curl/command",
        "ce-type": "my.demo.event",
        "content-type": "application/json",
    }
    assert request.body == b'{"details":"JobSinkDemo"}'


def test_structured_request_is_the_event_file_the_seed_expects() -> None:
    request = send.structured_request(SEED)
    assert request.headers["content-type"].startswith("application/cloudevents+json")
    assert json.loads(request.body) == {
        "specversion": "1.0",
        "id": "123",
        "source": "my/curl/command",
        "type": "my.demo.event",
        "datacontenttype": "application/json",
        "data": {"details": "JobSinkDemo"},
    }


@pytest.mark.parametrize(
    ("outgoing", "body_member"),
    [
        pytest.param(
            send.Outgoing("s", "t", "1", b"hello", "text/plain"), ("data", "hello"), id="text"
        ),
        pytest.param(
            send.Outgoing("s", "t", "1", b"\x00\x01", "application/octet-stream"),
            ("data_base64", "AAE="),
            id="binary",
        ),
        pytest.param(send.Outgoing("s", "t", "1"), None, id="no-data"),
    ],
)
def test_structured_data_keeps_its_kind(
    outgoing: send.Outgoing, body_member: tuple[str, str] | None
) -> None:
    body = json.loads(send.structured_request(outgoing).body)
    if body_member is None:
        assert "data" not in body
        assert "datacontenttype" not in body
    else:
        assert body[body_member[0]] == body_member[1]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(b'{"a": [1, 2]}', "application/json", id="json"),
        pytest.param(b"[1]", "application/vnd.x+json; charset=utf-8", id="json-suffix"),
        pytest.param("héllo".encode(), "text/plain; charset=utf-8", id="text"),
        pytest.param(b"\xff\xfe", "text/plain", id="text-not-utf8"),
        pytest.param(b"<a>b</a>", "application/xml", id="xml"),
        pytest.param(b"k=v&x=y", "application/x-www-form-urlencoded", id="form"),
        pytest.param(b"\x00\x01", "application/octet-stream", id="bytes"),
        pytest.param(b"", "application/json", id="empty"),
    ],
)
def test_structured_mode_sends_what_the_receiver_stores_from_binary_mode(
    data: bytes, content_type: str
) -> None:
    """Both encodings of one event end as the same stored event: the CLI classifies data by the
    receiver's rules."""
    outgoing = send.Outgoing("s", "t", "1", data, content_type)
    binary = send.binary_request(outgoing)
    decoded = wire.decode(
        [(k.encode(), v.encode()) for k, v in binary.headers.items()], binary.body
    )
    assert isinstance(decoded, wire.Single)
    assert send.structured_request(outgoing).body == decoded.event.to_json()


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        pytest.param("my/curl/command", "my/curl/command", id="printable-ascii-kept"),
        pytest.param("a b", "a%20b", id="space"),
        pytest.param('say "hi"', "say%20%22hi%22", id="double-quote"),
        pytest.param("100%", "100%25", id="percent"),
        pytest.param("café", "caf%C3%A9", id="utf-8"),
        pytest.param("line\nbreak", "line%0Abreak", id="control"),
    ],
)
def test_header_values_are_percent_encoded(value: str, encoded: str) -> None:
    assert send.header_value(value) == encoded
    assert send.binary_request(send.Outgoing(value, "t", "1")).headers["ce-source"] == encoded


def test_extensions_become_headers() -> None:
    outgoing = send.Outgoing("s", "t", "1", extensions={"myextension": "value"})
    assert send.binary_request(outgoing).headers["ce-myextension"] == "value"


@pytest.mark.parametrize(
    ("outgoing", "attribute"),
    [
        pytest.param(send.Outgoing("", "t", "1"), "source", id="empty-source"),
        pytest.param(send.Outgoing("s", "", "1"), "type", id="empty-type"),
        pytest.param(send.Outgoing("s", "t", ""), "id", id="empty-id"),
        pytest.param(
            send.Outgoing("s", "t", "1", b"{", "application/json"), "--data", id="bad-json"
        ),
        pytest.param(
            send.Outgoing("s", "t", "1", extensions={"Bad-Name": "x"}), "Bad-Name", id="ext-name"
        ),
    ],
)
def test_invalid_events_name_the_attribute(outgoing: send.Outgoing, attribute: str) -> None:
    with pytest.raises(EventError) as caught:
        send.binary_request(outgoing)
    assert caught.value.attribute == attribute


def _send(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(APP, ["send", *args])
    return result.exit_code, result.stdout, result.stderr


SEED_ARGS = ("--source", "my/curl/command", "--type", "my.demo.event", "--id", "123")


def test_sends_the_seed_event_and_prints_status_and_location(
    runner: CliRunner, loopback: Loopback
) -> None:
    location = "/namespaces/default/name/job-sink-logger/sources/my%2Fcurl%2Fcommand/ids/123"
    loopback.answers.append(Answer(202, {"Location": location}))
    code, out, _ = _send(
        runner,
        "default/job-sink-logger",
        *SEED_ARGS,
        "--data",
        '{"details":"JobSinkDemo"}',
        "--url",
        loopback.url,
    )
    assert code == 0
    assert out.splitlines() == ["202 Accepted", f"Location: {loopback.url}{location}"]
    (request,) = loopback.requests
    assert (request.method, request.path) == ("POST", "/default/job-sink-logger")
    assert request.headers["ce-source"] == "my/curl/command"
    assert request.body == b'{"details":"JobSinkDemo"}'


def test_full_url_and_data_file_in_structured_mode(
    runner: CliRunner, loopback: Loopback, tmp_path: Path
) -> None:
    data_file = tmp_path / "event.json"
    data_file.write_text('{"a": 1}')
    loopback.answers.append(Answer(202))
    code, _, _ = _send(
        runner,
        f"{loopback.url}/ns/sink",
        *SEED_ARGS,
        "--data-file",
        str(data_file),
        "--structured",
    )
    assert code == 0
    (request,) = loopback.requests
    assert json.loads(request.body)["data"] == {"a": 1}


def test_the_job_named_in_the_answer_is_printed(runner: CliRunner, loopback: Loopback) -> None:
    body = b'{"namespace":"default","job":"job-sink-logger-abc","outcome":"duplicate"}'
    loopback.answers.append(Answer(202, {"content-type": "application/json"}, body))
    code, out, _ = _send(runner, "default/job-sink-logger", *SEED_ARGS, "--url", loopback.url)
    assert code == 0
    assert out.splitlines()[-1] == "Job: default/job-sink-logger-abc (duplicate)"


def test_random_id_is_printed(runner: CliRunner, loopback: Loopback) -> None:
    loopback.answers.append(Answer(202))
    code, out, _ = _send(runner, "ns/sink", "-s", "src", "-t", "typ", "--url", loopback.url)
    assert code == 0
    printed = out.splitlines()[1].removeprefix("id: ")
    assert loopback.requests[0].headers["ce-id"] == printed


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        pytest.param(
            Answer(404, {"content-type": "application/json"}, b'{"message":"no JobSink"}'),
            ExitCode.NOT_FOUND,
            "error: 404 Not Found: no JobSink",
            id="404-json",
        ),
        pytest.param(
            Answer(400, {}, b"ce-id: missing"),
            ExitCode.REFUSED,
            "error: 400 Bad Request: ce-id: missing",
            id="400-text",
        ),
        pytest.param(
            Answer(500, {"Reason": "etcd down"}),
            ExitCode.REFUSED,
            "error: 500 Internal Server Error: etcd down",
            id="500-reason-header",
        ),
    ],
)
def test_refusals_are_one_line_with_an_exit_code(
    runner: CliRunner, loopback: Loopback, answer: Answer, code: ExitCode, message: str
) -> None:
    loopback.answers.append(answer)
    exit_code, _, err = _send(runner, "ns/sink", *SEED_ARGS, "--url", loopback.url)
    assert exit_code == code
    assert err.strip() == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("not a target", *SEED_ARGS),
            "is neither a URL nor <namespace>/<jobsink-name>",
            id="bad-target",
        ),
        pytest.param(
            ("ns/sink", *SEED_ARGS, "--data", "{"),
            "invalid event: --data: not valid JSON",
            id="json",
        ),
        pytest.param(
            ("ns/sink", *SEED_ARGS, "--data", "{}", "--data-file", "x"),
            "either --data or --data-file",
            id="both-data",
        ),
        pytest.param(
            ("ns/sink", *SEED_ARGS, "--data-file", "/nonexistent/file"),
            "cannot read --data-file /nonexistent/file",
            id="missing-file",
        ),
        pytest.param(
            ("ns/sink", *SEED_ARGS, "-e", "novalue"), "must look like name=value", id="extension"
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    runner: CliRunner, args: tuple[str, ...], message: str
) -> None:
    code, _, err = _send(runner, *args)
    assert code == ExitCode.USAGE
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_receiver_exits_3(runner: CliRunner) -> None:
    code, _, err = _send(runner, "ns/sink", *SEED_ARGS, "--url", "http://127.0.0.1:9")
    assert code == ExitCode.UNREACHABLE
    assert err.startswith("error: cannot reach http://127.0.0.1:9/ns/sink")
    assert "Traceback" not in err


@pytest.mark.parametrize("how", ["--token", "--token-file"])
def test_a_given_token_goes_out_as_a_bearer_header(
    runner: CliRunner, loopback: Loopback, tmp_path: Path, how: str
) -> None:
    loopback.answers.append(Answer(202))
    (tmp_path / "token").write_text("header.payload.signature\n")
    value = "header.payload.signature" if how == "--token" else str(tmp_path / "token")
    code, _, _ = _send(runner, "ns/sink", *SEED_ARGS, "--url", loopback.url, how, value)
    assert code == 0
    (request,) = loopback.requests
    assert request.headers["authorization"] == "Bearer header.payload.signature"


def test_without_a_token_no_authorization_header_is_sent(
    runner: CliRunner, loopback: Loopback
) -> None:
    loopback.answers.append(Answer(202))
    assert _send(runner, "ns/sink", *SEED_ARGS, "--url", loopback.url)[0] == 0
    assert "authorization" not in loopback.requests[0].headers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--token", "a", "--token-file", "f"), "use one of", id="two-ways"),
        pytest.param(("--token", "a", "--audience-from-sink"), "use one of", id="token-and-sa"),
        pytest.param(("--service-account", "ns/sa"), "goes with --audience-from-sink", id="sa"),
        pytest.param(("--audience-from-sink",), "needs --service-account", id="no-sa"),
        pytest.param(
            ("--audience-from-sink", "--service-account", "sa"), "NAMESPACE/NAME", id="sa-shape"
        ),
        pytest.param(("--token-file", "/nonexistent/token"), "cannot read", id="token-file"),
    ],
)
def test_token_options_that_do_not_fit_exit_2(
    runner: CliRunner, args: tuple[str, ...], message: str
) -> None:
    code, _, err = _send(runner, "ns/sink", *SEED_ARGS, "--url", "http://127.0.0.1:9", *args)
    assert code == ExitCode.USAGE
    assert message in err
