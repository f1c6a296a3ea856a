#!/bin/sh
# One-shot (compose service `temporal-schema`, image temporalio/admin-tools): creates Temporal's
# databases on PostgreSQL and brings their schemas to the version this admin-tools image carries.
# Safe to run on every `docker compose up`: creating what exists and setting up a schema that is
# already there are allowed to fail, and update-schema only applies the missing versions, so the
# same step also migrates the schema after TEMPORAL_VERSION / TEMPORAL_ADMINTOOLS_VERSION change
# (keep the two equal). The password reaches the tool through SQL_PASSWORD, not the command line.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
SCHEMAS=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" -u "$POSTGRES_USER" "$@"
}

# database name, then its folder under $SCHEMAS
for pair in temporal:temporal temporal_visibility:visibility; do
  database=${pair%%:*}
  schema=${pair##*:}
  echo "== $database"
  sql_tool --db "$database" create-database || echo "(database $database exists)"
  sql_tool --db "$database" setup-schema -v 0.0 || echo "(schema of $database already set up)"
  # The step that must succeed: it fails loudly if the database is unreachable or broken.
  sql_tool --db "$database" update-schema -d "$SCHEMAS/$schema/versioned"
done
echo "Temporal schemas are up to date"
