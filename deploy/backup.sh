#!/bin/sh
# Back up the Lianbao database: a pg_dump in the custom format, kept for KEEP days.
#   deploy/backup.sh postgresql://owner@host:5432/lianbao      (PGPASSWORD from the environment)
# Writes $BACKUP_DIR/lianbao-YYYYmmddTHHMMSSZ.dump and prints its path.
set -eu
url=${1:?usage: backup.sh POSTGRES_URL}
dir=${BACKUP_DIR:-/var/backups/lianbao}
keep=${KEEP:-14}
mkdir -p "$dir"
file="$dir/lianbao-$(date -u +%Y%m%dT%H%M%SZ).dump"
# --format=custom: compressed, restorable table by table, in parallel (pg_restore -j).
pg_dump --format=custom --no-owner --no-privileges --file="$file.partial" "$url"
mv "$file.partial" "$file"
find "$dir" -name 'lianbao-*.dump' -mtime +"$keep" -delete
echo "$file"
