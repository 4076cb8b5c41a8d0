"""Images for Pods without a registry: locally assembled stand-ins under the exact references
the documentation's Jobs name, built once and cached, imported into containerd at start.

No registry is reachable from here. ``docker.io/library/bash:5`` is assembled from Debian's
``bash`` and ``coreutils`` packages (and what they depend on) with ``apt-get download`` and
``dpkg-deb -x``; ``localhost/jobsink/pause`` holds the pause binary compiled from Kubernetes'
own source. They behave like the real images for the examples (bash, cat, echo, sleep) but are
not them: a real cluster pulls the real images.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from controlplane.binaries import cache_root
from controlplane.errors import ControlPlaneError
from controlplane.node.binaries import PAUSE_VERSION
from controlplane.node.containerd_config import SANDBOX_IMAGE
from controlplane.node.oci import image_archive, layer_from_directory

Progress = Callable[[str], None]
#: Raised whenever the way archives are made changes, so stale cached archives are rebuilt.
FORMAT = 1
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Said wherever the images are mentioned: they are not the images a cluster would pull.
STAND_IN_NOTE = (
    "the images are locally assembled stand-ins under the references the documentation uses "
    "(bash from Debian bookworm packages, pause from Kubernetes' source); a real cluster pulls "
    "the real images"
)
#: Documentation, manuals and translations: megabytes no container here reads.
PRUNED = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
)


@dataclass(frozen=True)
class DebianImage:
    """An image whose root filesystem is the given Debian packages and their dependencies.

    ``content`` is an extra cache input: an image whose archive must change whenever a package
    version does passes :func:`package_files` of its packages here.
    """

    reference: str
    packages: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[str, ...] = (PATH_ENV,)
    content: str = ""


@dataclass(frozen=True)
class BinaryImage:
    """An image holding one static binary at ``/<name>``."""

    reference: str
    binary: Path
    cmd: tuple[str, ...] = field(default=())


Image = DebianImage | BinaryImage

#: The images the documentation's JobSinks run (examples/*.yaml all use bash:5).
WORKLOAD_IMAGES: tuple[DebianImage, ...] = (
    DebianImage("docker.io/library/bash:5", ("bash", "coreutils"), ("bash",)),
)


def pause_image(pause_binary: Path) -> BinaryImage:
    return BinaryImage(SANDBOX_IMAGE, pause_binary, ("/pause",))


def images_dir() -> Path:
    return cache_root() / "images"


def cache_key(image: Image) -> str:
    described: dict[str, object]
    if isinstance(image, DebianImage):
        described = {"packages": image.packages, "cmd": image.cmd}
        if image.env != (PATH_ENV,) or image.content:
            described |= {"env": image.env, "content": image.content}
    else:
        described = {"binary": hashlib.sha256(image.binary.read_bytes()).hexdigest()}
    text = json.dumps({"format": FORMAT, "reference": image.reference, **described}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def archive_path(image: Image) -> Path:
    name = image.reference.replace("/", "_").replace(":", "_")
    return images_dir() / f"{name}-{cache_key(image)}.tar"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Two runs assembling the same image wait for each other instead of racing."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run(argv: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        raise ControlPlaneError(
            f"`{' '.join(argv)}` failed (exit {result.returncode}): {result.stderr.strip()[-800:]}"
        )
    return result.stdout


def dependency_closure(apt_cache_output: str) -> list[str]:
    """Package names from ``apt-cache depends --recurse`` output (virtual ones left out)."""
    names = set()
    for line in apt_cache_output.splitlines():
        if line and not line.startswith((" ", "<")):
            names.add(line.strip().split(":", 1)[0])
    return sorted(names)


def _resolve(packages: tuple[str, ...]) -> list[str]:
    if shutil.which("apt-cache") is None or shutil.which("dpkg-deb") is None:
        raise ControlPlaneError(
            "assembling images needs apt-cache, apt-get and dpkg-deb (a Debian-based system)"
        )
    output = _run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages]
    )  # fmt: skip
    closure = dependency_closure(output)
    missing = [name for name in packages if name not in closure]
    if missing:
        raise ControlPlaneError(
            f"apt knows no package {', '.join(missing)}: run `apt-get update` (as root) once"
        )
    return closure


def downloaded_files(print_uris_output: str) -> list[str]:
    """``<file name> <SHA256:...>`` per package from ``apt-get download --print-uris`` output."""
    files = []
    for line in print_uris_output.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[0].startswith("'"):
            files.append(f"{fields[1]} {fields[3]}")
    return sorted(files)


def package_files(packages: tuple[str, ...]) -> str:
    """The exact Debian files ``packages`` and their dependencies would be assembled from, one
    per line: names carry the versions, hashes the contents. Asks apt; downloads nothing."""
    uris = _run(["apt-get", "download", "--print-uris", *_resolve(packages)])
    return "\n".join(downloaded_files(uris))


def ca_bundle(rootfs: Path) -> None:
    """``/etc/ssl/certs/ca-certificates.crt`` from the certificates ca-certificates ships, as its
    maintainer script (which ``dpkg-deb -x`` does not run) would write it."""
    shipped = sorted((rootfs / "usr/share/ca-certificates").rglob("*.crt"))
    if not shipped:
        return
    certs = rootfs / "etc/ssl/certs"
    certs.mkdir(parents=True, exist_ok=True)
    pem = "".join(cert.read_text().rstrip("\n") + "\n" for cert in shipped)
    (certs / "ca-certificates.crt").write_text(pem)


def _debian_rootfs(image: DebianImage, rootfs: Path, downloads: Path, say: Progress) -> None:
    packages = _resolve(image.packages)
    say(f"{image.reference}: downloading {len(packages)} Debian packages")
    _run(["apt-get", "download", "-q", *packages], cwd=downloads)
    for deb in sorted(downloads.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(rootfs)])
    for pruned in PRUNED:
        shutil.rmtree(rootfs / pruned, ignore_errors=True)
    ca_bundle(rootfs)
    etc = rootfs / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    for directory, mode in (("tmp", 0o1777), ("root", 0o700), ("proc", 0o555), ("sys", 0o555)):
        (rootfs / directory).mkdir(exist_ok=True)
        (rootfs / directory).chmod(mode)


def _binary_rootfs(image: BinaryImage, rootfs: Path) -> None:
    target = rootfs / image.binary.name
    shutil.copy2(image.binary, target)
    target.chmod(0o755)


def ensure_archive(image: Image, say: Progress) -> Path:
    """The cached OCI archive of ``image``, assembled first if absent."""
    target = archive_path(image)
    if target.exists():
        return target
    with _locked(images_dir()):
        if target.exists():
            return target
        say(f"assembling {image.reference} (once; cached in {images_dir()})")
        with tempfile.TemporaryDirectory(dir=images_dir(), prefix=".build-") as scratch:
            rootfs, downloads = Path(scratch) / "rootfs", Path(scratch) / "debs"
            rootfs.mkdir()
            downloads.mkdir()
            if isinstance(image, DebianImage):
                _debian_rootfs(image, rootfs, downloads, say)
                created_by = f"jobsink: Debian packages {' '.join(image.packages)} (stand-in)"
            else:
                _binary_rootfs(image, rootfs)
                created_by = f"jobsink: {image.binary.name} {PAUSE_VERSION} (stand-in)"
            archive = image_archive(
                image.reference,
                layer_from_directory(rootfs),
                cmd=image.cmd,
                env=list(image.env) if isinstance(image, DebianImage) else [PATH_ENV],
                created_by=created_by,
            )
            partial = target.with_suffix(".partial")
            partial.write_bytes(archive)
            partial.replace(target)
    return target


def import_archive(ctr: Path, socket: Path, namespace: str, archive: Path) -> None:
    """Import into containerd and unpack for the default (overlayfs) snapshotter."""
    _run([str(ctr), f"--address={socket}", f"--namespace={namespace}", "images", "import",
          "--local", str(archive)])  # fmt: skip
