# Sourced by demo.sh and test.sh: installs the Debian 12 packages ckpt needs
# (only those missing) and says what it installs.
ckpt_required_packages=(
  build-essential cmake pkg-config python3
  libhdf5-dev hdf5-tools hdf5-filter-plugin
  libtomlplusplus-dev libboost-program-options-dev catch2
  liblz4-dev libzstd-dev libxxhash-dev
  libopenmpi-dev openmpi-bin
  slurmctld slurmd slurm-client munge libslurm-dev
)

ckpt_install_packages() {
  local missing=() package
  for package in "${ckpt_required_packages[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "==> packages: all present"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "==> missing packages: ${missing[*]}; run this script as root (or install them) first" >&2
    return 1
  fi
  echo "==> installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures and builds into $1 with extra CMake arguments after it.
ckpt_build() {
  local build_dir=$1
  shift
  echo "==> building in $build_dir"
  cmake -S "$ckpt_source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  if ! cmake --build "$build_dir" -j"$(nproc)" >"$build_dir/build.log" 2>&1; then
    grep -E "error|Error" -A5 "$build_dir/build.log" | head -80
    echo "==> build failed (full log: $build_dir/build.log)" >&2
    return 1
  fi
}
