"""Gzipped size of the Datavern cookie banner beside Klaro and cookieconsent v3.

Issue 5 sets the limit: banner.js + banner.css together under 15 kB gzipped. This script
measures our two files and, in the same run, the distributed files of two open-source
banners fetched from the npm registry with `npm pack` into bench/.work/banner/:

- Klaro (`npm pack klaro`, latest): dist/klaro-no-css.js + dist/klaro.min.css, the pair a
  site loads when it keeps script and stylesheet apart, as with Datavern. Both bundle every
  translation Klaro ships, as ours carries nb and en. dist/klaro.js (CSS inside the script)
  is printed too, for reference.
- cookieconsent v3 (`npm pack vanilla-cookieconsent@3`): dist/cookieconsent.umd.js +
  dist/cookieconsent.css, the files its documentation tells a site to include. It ships no
  translations: the site writes every text into its config, which adds to what it serves.

Sizes are gzip -9 (Python's gzip module, compresslevel=9, mtime=0), in bytes and kB (1 kB =
1,000 bytes). Nothing is timed. A JSON copy goes to bench/.work/results/banner-size.json.

    .venv/bin/python bench/banner/size.py              # fetch the npm packages and compare
    .venv/bin/python bench/banner/size.py --offline    # only Datavern's files
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "src" / "datavern" / "consent" / "static"
WORK = REPO / "bench" / ".work" / "banner"
RESULTS = REPO / "bench" / ".work" / "results"
LIMIT = 15_000

# (label, npm spec, files inside the package, comparable pair or reference only)
COMPETITORS: list[tuple[str, str, list[str], bool]] = [
    ("Klaro", "klaro", ["package/dist/klaro-no-css.js", "package/dist/klaro.min.css"], True),
    ("Klaro, single file", "klaro", ["package/dist/klaro.js"], False),
    (
        "cookieconsent v3",
        "vanilla-cookieconsent@3",
        ["package/dist/cookieconsent.umd.js", "package/dist/cookieconsent.css"],
        True,
    ),
]


@dataclass
class Measured:
    label: str
    version: str
    files: list[tuple[str, int, int]]  # name, raw bytes, gzipped bytes
    comparable: bool

    @property
    def raw(self) -> int:
        return sum(f[1] for f in self.files)

    @property
    def gz(self) -> int:
        return sum(f[2] for f in self.files)


def gz_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def measure_datavern() -> Measured:
    from datavern import __version__

    files = []
    for name in ("banner.js", "banner.css"):
        data = (STATIC / name).read_bytes()
        files.append((name, len(data), gz_size(data)))
    return Measured("Datavern", __version__, files, True)


def npm_pack(spec: str) -> Path:
    """`npm pack SPEC` into bench/.work/banner/ (once per spec and run); the tarball path."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not installed: install Node.js (apt-get install npm) or use --offline")
    WORK.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(WORK)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"npm pack {spec} failed:\n{result.stderr.strip()}")
    info = json.loads(result.stdout)
    return WORK / info[0]["filename"]


def measure_package(label: str, tarball: Path, members: list[str], comparable: bool) -> Measured:
    files = []
    with tarfile.open(tarball) as tar:
        meta = tar.extractfile("package/package.json")
        version = json.load(meta)["version"] if meta else "?"
        for member in members:
            handle = tar.extractfile(member)
            if handle is None:
                sys.exit(f"{tarball.name} has no {member}")
            data = handle.read()
            files.append((member.removeprefix("package/"), len(data), gz_size(data)))
    return Measured(label, version, files, comparable)


def kb(n: int) -> str:
    return f"{n / 1000:.1f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="measure only Datavern")
    args = parser.parse_args()

    ours = measure_datavern()
    rows = [ours]
    if not args.offline:
        packed: dict[str, Path] = {}
        for label, spec, members, comparable in COMPETITORS:
            if spec not in packed:
                packed[spec] = npm_pack(spec)
            rows.append(measure_package(label, packed[spec], members, comparable))

    print("Cookie banner size, gzip -9 (1 kB = 1,000 bytes)\n")
    header = f"{'banner':<22} {'version':<9} {'raw':>10} {'gzipped':>10} {'vs Datavern':>12}"
    print(header)
    print("-" * len(header))
    for m in rows:
        ratio = "1.0x" if m is ours else f"{m.gz / ours.gz:.1f}x"
        print(f"{m.label:<22} {m.version:<9} {kb(m.raw):>10} {kb(m.gz):>10} {ratio:>12}")
        for name, raw, gz in m.files:
            print(f"  {name:<30} {kb(raw):>10} {kb(gz):>10}")
    verdict = "under" if ours.gz < LIMIT else "OVER"
    print(f"\nDatavern banner.js + banner.css: {ours.gz:,} bytes gzipped, {verdict} the")
    print(f"issue's limit of {LIMIT:,} bytes ({ours.gz / LIMIT:.0%} of it).")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "banner-size.json"
    out.write_text(
        json.dumps(
            [
                {
                    "label": m.label,
                    "version": m.version,
                    "comparable": m.comparable,
                    "raw_bytes": m.raw,
                    "gzip_bytes": m.gz,
                    "ratio_to_datavern": round(m.gz / ours.gz, 2),
                    "files": [{"name": n, "raw": r, "gzip": g} for n, r, g in m.files],
                }
                for m in rows
            ],
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
