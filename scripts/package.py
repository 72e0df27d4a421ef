"""Package the control plane for Lambda: `chalice package`, then drop what the Lambda Python runtime provides.

    python scripts/package.py OUT_DIR [--stage dev] [--pkg-format cloudformation|terraform]

aws-xray-sdk (for the Powertools Tracer) depends on botocore, so chalice bundles boto3's whole stack (~15 MB);
the Lambda Python runtime already ships boto3 and botocore, so they are removed from deployment.zip.
`controlplane/` gets into the zip through the `vendor/controlplane` symlink (chalice follows it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


def provided_by_runtime(name: str) -> bool:
    top = name.split("/", 1)[0]
    base = top.split("-", 1)[0].lower()
    return top in RUNTIME_PROVIDED or (
        top.endswith(".dist-info")
        and base in {"boto3", "botocore", "s3transfer", "jmespath", "python_dateutil", "urllib3", "six"}
    )


def strip(zip_path: Path) -> tuple[int, int]:
    tmp = zip_path.with_suffix(".tmp")
    removed = 0
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if provided_by_runtime(info.filename):
                removed += 1
                continue
            dst.writestr(info, src.read(info.filename))
    tmp.replace(zip_path)
    return removed, zip_path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--pkg-format", default="cloudformation", choices=["cloudformation", "terraform"])
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--stage", args.stage, "--pkg-format", args.pkg_format, str(args.out)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    removed, size = strip(args.out / "deployment.zip")
    print(f"{args.out / 'deployment.zip'}: {size / 1e6:.2f} MB ({removed} runtime-provided files removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
