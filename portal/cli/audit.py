"""``citygov audit …``: verify, export, proofs, checkpoints, key rotation.

Keys live in the instance folder (``<instance>/audit-keys`` unless ``AUDIT_KEY_DIR`` is configured);
the checkpoint origin is ``AUDIT_ORIGIN``. Exit codes: 0 verified / done, 1 verification failed,
2 bad input (usage errors, out-of-range proofs, unreadable keys).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from portal.keys import key_dir, origin
from portal.cli._common import app_context, cli_session, emit, fail, format_option


def _report_text(report) -> str:
    lines = [report.summary()]
    lines += [f"  index {p['index']}: {p['message']}" if p["index"] is not None else f"  {p['message']}"
              for p in report.problems]
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    @cli.group("audit")
    def audit_group():
        """The tamper-evident audit log (RFC 9162 Merkle tree, signed checkpoints)."""

    @audit_group.command("verify", with_appcontext=False)
    @click.option("--export", "export_file", type=click.Path(dir_okay=False),
                  help="Verify an export file offline instead of the database (no instance, no secret key).")
    @click.option("--public-key", "public_key", type=click.Path(),
                  help="Verifier key file (one key per line) or directory of *.pub files.")
    @format_option
    def verify_cmd(export_file, public_key, fmt):
        """Rebuild the tree and check it against every signed checkpoint; exit 1 naming the first bad index."""
        from audit import notes
        from audit.verify import verify_export, verify_log

        try:
            keys = notes.read_public_keys(public_key) if public_key else []
        except notes.NoteError as exc:
            fail(f"cannot read public key: {exc}")
        if export_file:
            if not public_key:
                raise click.UsageError("--export needs --public-key (offline verification uses only public keys)")
            try:
                raw = Path(export_file).read_bytes()
            except OSError as exc:
                fail(f"cannot read {export_file}: {exc.strerror}")
            report = verify_export(raw, keys)
        else:
            with app_context():
                if not public_key:
                    keys = notes.load_verifiers(key_dir())
                with cli_session("cli:audit") as (session, _system):
                    report = verify_log(session, keys)
        emit(report.to_dict(), fmt, lambda _d: _report_text(report))
        if not report.ok:
            sys.exit(1)

    @audit_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
    def export_cmd(fmt, output):
        """Write events (public fields), leaves (base64) and every signed checkpoint as JSON."""
        from audit.verify import export_log

        with cli_session("cli:audit") as (session, _system):
            data = export_log(session)
        text = json.dumps(data, ensure_ascii=False, indent=1)
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
            click.echo(f"exported {data['tree_size']} entries to {output}", err=True)
        else:
            click.echo(text)

    @audit_group.command("prove")
    @click.option("--index", type=int, help="Leaf index (0-based).")
    @click.option("--hash", "leaf_hash", help="Leaf hash (base64 or hex) instead of --index.")
    @click.option("--size", type=int, help="Tree size (default: current).")
    def prove_cmd(index, leaf_hash, size):
        """Print an inclusion proof as JSON."""
        from audit import proofs

        if (index is None) == (leaf_hash is None):
            raise click.UsageError("give exactly one of --index and --hash")
        with cli_session("cli:audit") as (session, _system):
            if leaf_hash is not None:
                proof = proofs.inclusion_proof_by_hash(session, leaf_hash, size)
            else:
                proof = proofs.inclusion_proof(session, index, size)
        click.echo(json.dumps(proof, indent=2))

    @audit_group.command("consistency")
    @click.option("--from", "first", type=int, required=True, help="Older tree size.")
    @click.option("--to", "second", type=int, help="Newer tree size (default: current).")
    def consistency_cmd(first, second):
        """Print a consistency proof between two tree sizes as JSON."""
        from audit import proofs

        with cli_session("cli:audit") as (session, _system):
            proof = proofs.consistency_proof(session, first, second)
        click.echo(json.dumps(proof, indent=2))

    @audit_group.group("checkpoint")
    def checkpoint_group():
        """Signed checkpoints (C2SP tlog-checkpoint)."""

    @checkpoint_group.command("sign")
    @click.option("--force", is_flag=True, help="Sign even if the latest checkpoint covers the current size.")
    @format_option
    def checkpoint_sign_cmd(force, fmt):
        """Sign a checkpoint of the current tree (refuses if inconsistent with an earlier one)."""
        from audit import checkpoints

        with cli_session("cli:audit") as (session, system):
            cp = checkpoints.checkpoint_sign(session, system, key_dir=key_dir(), origin=origin(), force=force)
            data = checkpoints.checkpoint_json(cp)
        emit(data, fmt, lambda d: d["note"].rstrip("\n"))

    @checkpoint_group.command("show")
    @format_option
    def checkpoint_show_cmd(fmt):
        """Print the latest signed checkpoint."""
        from audit import checkpoints

        with cli_session("cli:audit") as (session, _system):
            data = checkpoints.checkpoint_json(checkpoints.public_checkpoint(session))
        emit(data, fmt, lambda d: d["note"].rstrip("\n"))

    @audit_group.group("key")
    def key_group():
        """The checkpoint signing key (Ed25519)."""

    @key_group.command("rotate")
    @click.option("--no-sign", is_flag=True, help="Do not sign a checkpoint with the new key right away.")
    @format_option
    def key_rotate_cmd(no_sign, fmt):
        """Replace the signing key; old public keys are kept so old checkpoints still verify."""
        from audit import checkpoints

        with cli_session("cli:audit") as (session, system):
            info = checkpoints.key_rotate(session, system, key_dir=key_dir(), origin=origin())
            if not no_sign:
                cp = checkpoints.checkpoint_sign(session, system, key_dir=key_dir(), origin=origin(), force=True)
                info["checkpoint"] = checkpoints.checkpoint_json(cp)
        emit(info, fmt, lambda d: f"new key {d['key_id']} (previous {d['previous_key_id'] or '-'})\n"
                                  f"verifier key: {d['verifier_key']}")

    @key_group.command("public")
    def key_public_cmd():
        """Print every verifier (public) key, current and retired, one per line."""
        from audit import notes

        keys = notes.load_verifiers(key_dir())
        if not keys:
            fail("no audit keys yet: run `citygov audit checkpoint sign`")
        for v in keys:
            click.echo(v.to_string())
