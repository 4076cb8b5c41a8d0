"""``python -m controlplane.image`` (``make image``): build the project image without Docker.

Prints progress on stderr, then the reference, the archive, its size and the build time on
stdout. Exit code 1 with the reason when the build fails.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from controlplane.errors import ControlPlaneError
from controlplane.image.archive import unpacked_size
from controlplane.image.project import ensure_project_image, forget_build_cache

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


STARTED = time.monotonic()


def _progress(message: str) -> None:
    print(f"[image {time.monotonic() - STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


@app.command()
def main(
    rebuild: Annotated[
        bool, typer.Option(help="Build even if an archive of the same inputs exists.")
    ] = False,
    cold: Annotated[
        bool, typer.Option(help="Empty BuildKit's cache first (implies --rebuild).")
    ] = False,
    import_into_nodes: Annotated[
        bool,
        typer.Option(help="Import the image into the containerd of every running local node."),
    ] = True,
) -> None:
    """Build localhost/jobsink/jobsink:<version> from the Dockerfile with BuildKit on a
    containerd of the node's release, on a Python base assembled from Debian's packages."""
    try:
        if cold:
            forget_build_cache()
        build = ensure_project_image(
            _progress, rebuild=rebuild or cold, import_into=None if import_into_nodes else ()
        )
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(1) from None
    how = "built" if build.built else "up to date"
    print(f"{build.reference} {how} in {build.seconds:.1f}s")
    unpacked = unpacked_size(build.archive)
    print(f"archive {build.archive} ({build.size / 1e6:.1f} MB; unpacked {unpacked / 1e6:.1f} MB)")
    for socket in build.imported_into:
        print(f"imported into the node at {socket}")


if __name__ == "__main__":
    app()
