"""Where the platform's signing keys live: one Ed25519 key set in the instance folder signs audit
checkpoints and certificates (``<instance>/audit-keys`` unless ``AUDIT_KEY_DIR`` is configured), with
``AUDIT_ORIGIN`` as the checkpoint origin line. Domain packages take these explicitly as arguments."""

from __future__ import annotations

from pathlib import Path

from flask import current_app


def key_dir() -> Path:
    configured = current_app.config.get("AUDIT_KEY_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "audit-keys"


def origin() -> str:
    return current_app.config["AUDIT_ORIGIN"]
