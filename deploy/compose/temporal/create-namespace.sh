#!/bin/sh
# One-shot (compose service `temporal-namespace`, image temporalio/admin-tools): the plain
# temporalio/server image creates no namespace, and workers fail to poll one that is missing, so
# the worker services wait for this to complete. Idempotent: an existing namespace is kept as is.
set -eu
: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
namespace=${TEMPORAL_NAMESPACE:-default}

# The server's port opens before its frontend serves; ask it until it says it is healthy.
tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS did not become healthy in 2 minutes" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$namespace" >/dev/null 2>&1; then
  echo "namespace $namespace exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" \
    --retention "${NAMESPACE_RETENTION:-72h}"
  echo "namespace $namespace created"
fi
