"""``jobsink certs create``: a CA and a serving certificate as PEM files, for local use.

The webhook, the receiver's HTTPS listener and the e2e suite use these files; ``jobsink webhook``
reloads them when they change, so running the command again with ``--ca-dir`` rotates the serving
certificate in place without a restart (clients keep trusting the same ``ca.crt``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from certs.authority import CA_LIFETIME, LEAF_LIFETIME, CertificateAuthority
from cli.exits import ExitCode, fail


def _write(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` atomically, so a watcher never reads half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _load_ca(directory: Path) -> CertificateAuthority:
    try:
        return CertificateAuthority.load(
            (directory / "ca.crt").read_bytes(), (directory / "ca.key").read_bytes()
        )
    except OSError as error:
        fail(f"--ca-dir: cannot read {error.filename}: {error.strerror}", ExitCode.USAGE)


def create(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for ca.crt, ca.key, tls.crt, tls.key.")
    ],
    dns: Annotated[
        list[str] | None,
        typer.Option("--dns", help="DNS name for the serving certificate (repeatable)."),
    ] = None,
    ip: Annotated[
        list[str] | None,
        typer.Option("--ip", help="IP address for the serving certificate (repeatable)."),
    ] = None,
    ca_dir: Annotated[
        Path | None,
        typer.Option(help="Reuse the CA in this directory (ca.crt, ca.key) instead of a new one."),
    ] = None,
    days: Annotated[
        int, typer.Option(min=1, help="Lifetime of the serving certificate in days.")
    ] = LEAF_LIFETIME.days,
) -> None:
    """Write a CA and a serving certificate signed by it (EC P-256).

    Without --dns and --ip the certificate is for localhost and 127.0.0.1.
    The CA lives five years, the serving certificate 90 days (--days);
    renew it after about two thirds of that.

    Examples:

      jobsink certs create --out /tmp/jobsink-certs

      jobsink certs create --out certs/ \\
          --dns jobsink-webhook.knative-eventing.svc --ip 10.0.0.7

      # a new serving certificate from the same CA:
      jobsink certs create --out certs/ --ca-dir certs/
    """
    dns_names = dns or []
    ips = ip or []
    if not dns_names and not ips:
        dns_names, ips = ["localhost"], ["127.0.0.1"]
    for address in ips:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            fail(f"--ip: {address!r} is not an IP address", ExitCode.USAGE)
    authority = _load_ca(ca_dir) if ca_dir else CertificateAuthority.create(lifetime=CA_LIFETIME)
    try:
        leaf = authority.issue_server(
            dns_names=dns_names, ips=ips, lifetime=dt.timedelta(days=days)
        )
    except ValueError as error:
        fail(f"--dns: {error}", ExitCode.USAGE)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write(out / "ca.crt", authority.pair.cert_pem, 0o644)
        _write(out / "ca.key", authority.pair.key_pem, 0o600)
        # Key before certificate: a watcher that sees the new certificate finds its key in place.
        _write(out / "tls.key", leaf.key_pem, 0o600)
        _write(out / "tls.crt", leaf.cert_pem, 0o644)
    except OSError as error:
        fail(f"--out: cannot write {error.filename}: {error.strerror}", ExitCode.USAGE)
    names = ", ".join([*dns_names, *ips])
    print(f"wrote {out}/ca.crt, ca.key, tls.crt, tls.key (serving certificate for {names})")


def register(app: typer.Typer) -> None:
    certs = typer.Typer(help="Certificates for the webhook and the receiver.", no_args_is_help=True)
    certs.command("create")(create)
    app.add_typer(certs, name="certs")
