# Sourced by test.sh: an unprivileged user for running the suite as our
# users do (they are never root).
ckpt_test_user=ckpt-test

ckpt_ensure_test_user() {
  if ! id "$ckpt_test_user" >/dev/null 2>&1; then
    echo "==> creating unprivileged user $ckpt_test_user"
    useradd --create-home --shell /bin/bash "$ckpt_test_user"
  fi
}

# Runs a command as the test user with a private TMPDIR.
ckpt_as_test_user() {
  local tmp
  tmp=$(mktemp -d /tmp/ckpt-user-XXXXXX)
  chown "$ckpt_test_user": "$tmp"
  local status=0
  runuser -u "$ckpt_test_user" -- env -i PATH="$PATH" HOME="/home/$ckpt_test_user" \
    TMPDIR="$tmp" LANG=C.UTF-8 ${SLURM_CONF:+SLURM_CONF="$SLURM_CONF"} "$@" || status=$?
  rm -rf "$tmp"
  return $status
}

# The user must be able to read the sources and build tree.
ckpt_check_user_access() {
  local path=$1
  if ! runuser -u "$ckpt_test_user" -- test -r "$path" -a -x "$path"; then
    echo "==> $ckpt_test_user cannot read $path: make its parent folders world-readable" >&2
    return 1
  fi
}
