#!/usr/bin/env bash
# Offline checks of the terraform/ tree: the control plane package builds and matches its declaration, fmt,
# init+validate of every root (no generated file needed), terraform test, checkov, and parliament over every IAM
# policy document (tests/terraform/test_iam_lint.py).
#
#   terraform/scripts/check.sh [all|package|fmt|validate|test|checkov|iam]...     (default: all)
#   terraform/scripts/check.sh cli-config     the CLI config file the checks would use (empty: Terraform's own)
#
# Offline (no registry access): the hashicorp/aws provider comes from a filesystem mirror through
# terraform/.terraformrc.offline, chosen automatically when the directory its `path` names exists and
# TF_CLI_CONFIG_FILE is unset. With internet access: TF_OFFLINE=0 terraform/scripts/check.sh  (plain registry
# downloads, same checks). TF_OFFLINE=1 forces the mirror config.
# TF_PLUGIN_CACHE_DIR (default ~/.cache/terraform-plugins) keeps one copy of the ~700 MB provider for all roots.
# checkov: CHECKOV=/path/to/checkov, else .venv-tools/bin/checkov, else checkov on PATH.
set -euo pipefail

TF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$TF_DIR/.." && pwd)"
TERRAFORM="${TERRAFORM:-terraform}"

# TF_OFFLINE=1: always the mirror config; 0: never; auto (default): when the mirror exists and no usable CLI config
# file is set (a TF_CLI_CONFIG_FILE pointing at a missing file counts as none). The tests ask `cli-config`.
OFFLINE_CONFIG="$TF_DIR/.terraformrc.offline"
MIRROR_DIR="$(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\(.*\)"[[:space:]]*$/\1/p' "$OFFLINE_CONFIG")"
case "${TF_OFFLINE:-auto}" in
  1) export TF_CLI_CONFIG_FILE="$OFFLINE_CONFIG" ;;
  0) ;;
  *) if [[ -n "$MIRROR_DIR" && -d "$MIRROR_DIR" && ! -f "${TF_CLI_CONFIG_FILE:-/nonexistent}" ]]; then
       export TF_CLI_CONFIG_FILE="$OFFLINE_CONFIG"
     fi ;;
esac
if [[ "${1:-}" == cli-config ]]; then
  if [[ -f "${TF_CLI_CONFIG_FILE:-/nonexistent}" ]]; then echo "$TF_CLI_CONFIG_FILE"; fi
  exit 0
fi
export TF_PLUGIN_CACHE_DIR="${TF_PLUGIN_CACHE_DIR:-$HOME/.cache/terraform-plugins}"
mkdir -p "$TF_PLUGIN_CACHE_DIR"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

ROOTS=(backend environments/dev environments/staging environments/prod controlplane)
# Modules with their own *.tftest.hcl (tested as a root; validated through the roots above).
TEST_MODULES=(modules/alb modules/environment modules/cicd modules/controlplane modules/operator_roles)
PYTHON="${PYTHON:-python3}"
[[ -x "$REPO_DIR/.venv/bin/python" ]] && PYTHON="${PYTHON_OVERRIDE:-$REPO_DIR/.venv/bin/python}"

step() { printf '\n== %s\n' "$*"; }

check_package() {
  # The deployment package builds and agrees with generated/functions.json. Validation and terraform test do not
  # need it (they use terraform/tests/package); a plan of terraform/controlplane does.
  step "control plane package"
  local out
  out="$(mktemp -d)"
  "$PYTHON" "$TF_DIR/scripts/package_controlplane.py" --out "$out"
  rm -rf "$out"
  echo "ok"
}

check_fmt() {
  step "terraform fmt -check -recursive"
  "$TERRAFORM" -chdir="$TF_DIR" fmt -check -recursive -diff
  echo "ok"
}

init_root() {
  "$TERRAFORM" -chdir="$TF_DIR/$1" init -backend=false -input=false -no-color >"$TF_DIR/$1/.terraform-init.log" 2>&1 \
    || { cat "$TF_DIR/$1/.terraform-init.log"; return 1; }
  rm -f "$TF_DIR/$1/.terraform-init.log"
}

check_validate() {
  for root in "${ROOTS[@]}"; do
    step "init -backend=false + validate: $root"
    init_root "$root"
    "$TERRAFORM" -chdir="$TF_DIR/$root" validate -no-color
  done
}

check_test() {
  for root in "${ROOTS[@]}" "${TEST_MODULES[@]}"; do
    if compgen -G "$TF_DIR/$root/tests/*.tftest.hcl" >/dev/null || compgen -G "$TF_DIR/$root/*.tftest.hcl" >/dev/null; then
      step "terraform test: $root"
      init_root "$root"  # every time: a stale .terraform misses modules added since
      "$TERRAFORM" -chdir="$TF_DIR/$root" test -no-color
    fi
  done
}

check_checkov() {
  step "checkov"
  local checkov="${CHECKOV:-}"
  if [[ -z "$checkov" ]]; then
    if [[ -x "$REPO_DIR/.venv-tools/bin/checkov" ]]; then checkov="$REPO_DIR/.venv-tools/bin/checkov";
    elif command -v checkov >/dev/null; then checkov="$(command -v checkov)";
    else echo "checkov not found (python3 -m venv .venv-tools && .venv-tools/bin/pip install checkov==3.3.30)"; exit 1; fi
  fi
  "$checkov" --directory "$TF_DIR" --framework terraform --quiet --compact --skip-download \
    --skip-path '\.terraform' --download-external-modules false
}

check_iam() {
  # Renders every policy document offline (mocked applies + the real provider's aws_iam_policy_document) and lints
  # each with parliament from .venv-tools; MEDIUM and above fail unless a reasoned #parliament:ignore is next to it.
  step "parliament (IAM policy lint)"
  (cd "$REPO_DIR" && "$PYTHON" -m pytest -q -p no:cacheprovider tests/terraform/test_iam_lint.py)
}

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    all) check_package; check_fmt; check_validate; check_test; check_checkov; check_iam ;;
    package) check_package ;;
    fmt) check_fmt ;;
    validate) check_validate ;;
    test) check_test ;;
    checkov) check_checkov ;;
    iam) check_iam ;;
    *) echo "unknown check: $t"; exit 2 ;;
  esac
done
step "all requested checks passed"
