"""Render deploy/nginx.conf into a prefix folder of its own and, with ``--run``, run Debian's nginx on it
in the foreground (not the system service: its pid, logs, cache and temporary files stay in the folder).

    python deploy/nginx.py --listen 127.0.0.1:8080 --upstream 127.0.0.1:8000 --prefix instance/nginx --run

``--real-ip-from CIDR`` (repeatable) trusts the X-Forwarded-For of a load balancer or CDN at those
addresses, so that the app still sees each phone's address (it rate-limits and counts scans by it).
The tests and bench/public.py use the same functions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf")
NGINX = "/usr/sbin/nginx"


def nginx_binary() -> str | None:
    """Return Debian's nginx (or any on PATH), or None when it is not installed."""
    return NGINX if Path(NGINX).exists() else shutil.which("nginx")


def render(prefix: Path, listen: str, upstream: str, static: Path = ROOT / "static",
           real_ip_from: tuple[str, ...] = ()) -> Path:
    """Write nginx.conf into ``prefix`` (created, with the logs, cache and temporary folders nginx wants) and
    return its path."""
    prefix = prefix.resolve()
    for folder in ("logs", "cache", "temp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    real_ip = "".join(f"        set_real_ip_from {cidr};\n" for cidr in real_ip_from)
    if real_ip:
        real_ip += "        real_ip_header X-Forwarded-For;\n        real_ip_recursive on;\n"
    text = (TEMPLATE.read_text().replace("@LISTEN@", listen).replace("@UPSTREAM@", upstream)
            .replace("@STATIC@", str(static.resolve())).replace("@REAL_IP@\n", real_ip))
    path = prefix / "nginx.conf"
    path.write_text(text)
    return path


def command(prefix: Path, binary: str | None = None) -> list[str]:
    """Return the command running nginx on ``prefix`` in the foreground. As root, its workers run as
    Debian's www-data (nginx's own default user, nobody, has no group of that name on Debian)."""
    directives = "daemon off;" + (" user www-data;" if os.geteuid() == 0 else "")
    prefix = prefix.resolve()
    return [binary or nginx_binary() or NGINX, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"),
            "-g", directives]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="address nginx listens on, e.g. 127.0.0.1:8080 or 80")
    parser.add_argument("--upstream", required=True, help="gunicorn's address, e.g. 127.0.0.1:8000")
    parser.add_argument("--prefix", type=Path, default=ROOT / "instance" / "nginx",
                        help="nginx's own folder (default instance/nginx)")
    parser.add_argument("--real-ip-from", action="append", default=[], metavar="CIDR",
                        help="trust X-Forwarded-For from a proxy at these addresses")
    parser.add_argument("--run", action="store_true", help="then run nginx in the foreground")
    args = parser.parse_args(argv)
    path = render(args.prefix, args.listen, args.upstream, real_ip_from=tuple(args.real_ip_from))
    print(f"nginx configuration written to {path}", file=sys.stderr)
    if args.run:
        cmd = command(args.prefix)
        if not Path(cmd[0]).exists():
            raise SystemExit("nginx is missing: install Debian's package with `apt-get install nginx` (as root)")
        check = subprocess.run([*cmd, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(check.stderr)
        os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
