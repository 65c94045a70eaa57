"""``tdsnn serve``: the service and its dashboard (or the dashboard alone) under uvicorn."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register ``serve`` on the ``tdsnn`` sub-command parsers."""
    p = subparsers.add_parser("serve", help="serve spikes, maps and lesions over HTTP (FastAPI)")
    p.add_argument("--models", type=Path, default=None, help="checkpoint folder (default: models/)")
    p.add_argument("--host", default=None, help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: 8000)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--service-url",
        default=None,
        help="serve only the dashboard, driving the service at this URL (e.g. a GPU server; "
        "TDSNN_TOKEN is sent as its bearer token)",
    )
    p.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Start uvicorn; flags override ``TDSNN_*`` environment settings."""
    import torch
    import uvicorn

    from backend.settings import Settings
    from tdsnn_serve.compose import dashboard_app, service_with_dashboard

    flags = {"models_dir": args.models, "host": args.host, "port": args.port, "device": args.device}
    settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    if settings.threads:
        torch.set_num_threads(settings.threads)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(message)s")
    here = f"http://{_connect_host(settings.host)}:{settings.port}"
    if args.service_url:
        token = settings.token.get_secret_value() if settings.token else None
        app = dashboard_app(args.service_url.rstrip("/"), token)
    else:
        if settings.token is None and settings.host not in LOOPBACK:
            logging.warning("serving on %s without a token: set TDSNN_TOKEN", settings.host)
        app = service_with_dashboard(settings, here)
        logging.info(
            "TDSNN service on %s  (API docs: /docs; checkpoints from %s)", here, settings.models_dir
        )
    service = f"  (service: {args.service_url})" if args.service_url else ""
    print(f"TDSNN Lab dashboard: {here}/dashboard{service}", flush=True)
    # No per-message deflate on the dashboard's websocket: its frames are compact uint8 spike
    # counts, and compressing them took 55 ms of a 300 ms stimulus change (sresnet18, 224 px)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        ws_per_message_deflate=False,
    )
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _connect_host(host: str) -> str:
    """The address a client on this machine uses for a server bound to ``host``."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    import sys

    parser = argparse.ArgumentParser(prog="python -m tdsnn_serve.command")
    add_parser(parser.add_subparsers(required=True))
    parsed = parser.parse_args(sys.argv[1:])
    raise SystemExit(parsed.handler(parsed))
