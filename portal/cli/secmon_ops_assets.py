"""``citygov secmon assets update-system|remove-network`` — editing the asset inventory (the API's PATCH and
DELETE). Registered after ``secmon_ops`` (which creates the ``assets`` group); ``--as`` and ``--format`` as there."""

from __future__ import annotations

import click

from portal.cli._common import emit, format_option
from portal.cli.secmon_ops import _run, as_option


def register(cli: click.Group) -> None:
    assets_group = cli.commands["secmon"].commands["assets"]

    @assets_group.command("update-system")
    @click.argument("system")
    @click.option("--org", help="Owning organisation (id or code).")
    @click.option("--mlps", "mlps_level", type=int, help="MLPS level 1..4.")
    @click.option("--criticality")
    @click.option("--project", "project_id", help="Registry project id that built it.")
    @click.option("--description")
    @as_option
    @format_option
    def update_system(system, org, mlps_level, criticality, project_id, description, as_user, fmt):
        """Change a system's owner, MLPS level, criticality, project or description (audited)."""
        from secmon import assets

        changes = {k: v for k, v in (("org", org), ("mlps_level", mlps_level), ("criticality", criticality),
                                     ("project_id", project_id), ("description", description)) if v is not None}
        if not changes:
            raise click.UsageError("nothing to change: give --org, --mlps, --criticality, --project or --description")
        d = _run(as_user, lambda s, p: assets.system_update(s, p, system, **changes))
        emit(d, fmt, f"system {d['name']}: org {d['org_id']}, MLPS {d['mlps_level']}, {d['criticality']}")

    @assets_group.command("remove-network")
    @click.argument("cidr")
    @as_option
    @format_option
    def remove_network(cidr, as_user, fmt):
        """Remove a network or host from the inventory (audited)."""
        from secmon import assets

        d = _run(as_user, lambda s, p: assets.network_remove(s, p, cidr))
        emit(d, fmt, f"{d['kind']} {d['cidr']} removed")
