"""registry: indexes for the project list's pages at 100,000 projects

A list page is found by id first (``registry.services.project_list``); these indexes give the ids of a page
for each order (updated, created, title, budget) and for the common filters (state, area, organisation)
in the default order without reading project rows, which carry the proposal document.

Revision ID: registry_0003_list_indexes
Revises: registry_0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "registry_0003_list_indexes"
down_revision = "registry_0002"
branch_labels = None
depends_on = None

INDEXES = {
    # title too: a title search (LIKE '%…%') in the default order scans this index alone, never the rows
    "ix_registry_project_updated_id_title": ["updated_at", "id", "title"],
    "ix_registry_project_created_id": ["created_at", "id"],
    "ix_registry_project_title_id": ["title", "id"],
    "ix_registry_project_budget_id": ["budget", "id"],
    "ix_registry_project_state_updated": ["state", "updated_at", "id"],
    "ix_registry_project_area_updated": ["area", "updated_at", "id"],
    "ix_registry_project_org_updated": ["org_id", "updated_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "registry_project", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="registry_project")
