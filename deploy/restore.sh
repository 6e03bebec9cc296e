#!/bin/sh
# Restore a backup into an EMPTY database and check it: same tables, and the audit trail
# readable to its last event.
#   deploy/restore.sh FILE.dump postgresql://owner@host:5432/lianbao_restored
# Then point MIGRATION_DATABASE_URL at it and run `lianbao migrate` (re-grants the app role).
set -eu
file=${1:?usage: restore.sh FILE.dump POSTGRES_URL}
url=${2:?usage: restore.sh FILE.dump POSTGRES_URL}
pg_restore --exit-on-error --no-owner --no-privileges --dbname="$url" "$file"
tables=$(psql "$url" -Atc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
audit=$(psql "$url" -Atc "SELECT count(*) || ' ' || coalesce(max(id), 0) FROM audit_event")
version=$(psql "$url" -Atc "SELECT version_num FROM alembic_version")
echo "restored: $tables tables, audit events (count, last id): $audit, schema revision: $version"
