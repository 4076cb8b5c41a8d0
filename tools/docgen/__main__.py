"""``python -m docgen [--check]``: write the generated documentation pages, or check them."""

from __future__ import annotations

import argparse
import sys

from docgen.pages import REPO, generate


def main() -> int:
    parser = argparse.ArgumentParser(prog="docgen", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed page differs, write nothing"
    )
    args = parser.parse_args()
    stale = []
    for relative, text in generate().items():
        path = REPO / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {relative}")
    if args.check and stale:
        print("stale: " + ", ".join(stale) + " (run `make docs-generate`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
