"""``tdsnn serve``: run the service with uvicorn."""

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
    p.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Start uvicorn; flags override ``TDSNN_*`` environment settings."""
    import torch
    import uvicorn

    from backend.app import create_app
    from backend.settings import Settings

    flags = {"models_dir": args.models, "host": args.host, "port": args.port, "device": args.device}
    settings = Settings(**{k: v for k, v in flags.items() if v is not None})
    if settings.threads:
        torch.set_num_threads(settings.threads)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(message)s")
    if settings.token is None and settings.host not in ("127.0.0.1", "localhost", "::1"):
        logging.warning("serving on %s without a token: set TDSNN_TOKEN", settings.host)
    logging.info(
        "TDSNN service on http://%s:%s  (API docs: /docs; checkpoints from %s)",
        settings.host,
        settings.port,
        settings.models_dir,
    )
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level
    )
    return 0


if __name__ == "__main__":
    import sys

    parser = argparse.ArgumentParser(prog="python -m backend.command")
    add_parser(parser.add_subparsers(required=True))
    parsed = parser.parse_args(sys.argv[1:])
    raise SystemExit(parsed.handler(parsed))
