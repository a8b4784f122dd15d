#!/usr/bin/env bash
# A root filesystem that carries another Slurm generation than the host's: Debian 13 (trixie) with
# Slurm 24.11, built by Debian 12's own mmdebstrap (nothing from trixie is installed into the host,
# whose C library it would replace). scripts/dev-slurm.sh --slurm 24.11 runs slurmctld, munged and
# the slurmds from it, and the Slurm test tier runs inside it so the 24.11 client commands are used.
# Built once and reused (cached like the Ray venv), rebuilt when its inputs change: the suite, the
# package list and ROOTFS_FORMAT below. Prints the root filesystem's path on stdout; everything else
# goes to stderr; exits non-zero with a reason when it cannot provide it.
#
#   scripts/slurm-rootfs.sh 24.11            build or reuse; prints e.g. /root/.cache/raysl/slurm-24.11-rootfs
#   scripts/slurm-rootfs.sh 24.11 --check    exit 0 if the cached one is there and current, 1 otherwise
#   scripts/slurm-rootfs.sh 24.11 --path     print where it is (or would be), build nothing
#
# RAYSL_SLURM_ROOTFS (default ~/.cache/raysl/slurm-<version>-rootfs), RAYSL_DEBIAN_MIRROR (default
# the Debian mirror this machine's apt uses, else http://deb.debian.org/debian).
# Facts this relies on: /work/shared/reference/slurm-24-rootfs.md.
set -euo pipefail

# Bump when the way the rootfs is made changes (not for the package list: that is hashed itself).
ROOTFS_FORMAT=1

say() { printf 'slurm-rootfs: %s\n' "$*" >&2; }
die() { printf 'slurm-rootfs: error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf 'slurm-rootfs: hint: %s\n' "$2" >&2; exit 1; }

VERSION="${1:-}"
case "$VERSION" in
  24.11) SUITE=trixie ;;
  *) die "no root filesystem recipe for Slurm '$VERSION'" "the versions with one: 24.11 (22.05 is the host's own Debian 12 packages)" ;;
esac
MODE="${2:-build}"
ROOTFS="${RAYSL_SLURM_ROOTFS:-${XDG_CACHE_HOME:-$HOME/.cache}/raysl/slurm-$VERSION-rootfs}"
# What the cluster needs: the daemons and clients, munge, and what dev-slurm.sh and raysl's tests run
# inside it (ip/ss, nsenter/unshare/pivot_root, mount, ps, python3 for the test cluster's scripts).
PACKAGES=(slurmd slurmctld slurm-client munge iproute2 procps util-linux mount python3 less ca-certificates)
STAMP="$ROOTFS/.raysl-rootfs"
inputs() { printf 'format=%s suite=%s packages=%s\n' "$ROOTFS_FORMAT" "$SUITE" "${PACKAGES[*]}"; }
want_hash() { inputs | sha256sum | cut -c1-16; }

current() { [ -f "$STAMP" ] && [ "$(sed -n 's/^inputs=//p' "$STAMP")" = "$(want_hash)" ] && [ -x "$ROOTFS/usr/sbin/slurmd" ]; }
# Mounts dev-slurm.sh made inside it: a running cluster uses it; never rebuild under it.
in_use() { awk -v r="$ROOTFS/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; }

mirror() {
  [ -n "${RAYSL_DEBIAN_MIRROR:-}" ] && { printf '%s\n' "$RAYSL_DEBIAN_MIRROR"; return; }
  local m
  m="$(sed -n 's/^URIs:[[:space:]]*\(.*\/debian\)\/\{0,1\}[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
  [ -z "$m" ] && m="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { sub(/\/$/, "", $2); print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

case "$MODE" in
  --path) printf '%s\n' "$ROOTFS"; exit 0 ;;
  --check) current && exit 0; say "no current Slurm $VERSION root filesystem at $ROOTFS"; exit 1 ;;
  build) ;;
  *) die "expected --check or --path after the version (received '$MODE')" "scripts/slurm-rootfs.sh 24.11" ;;
esac

if current; then printf '%s\n' "$ROOTFS"; exit 0; fi

[ "$(id -u)" -eq 0 ] || die "must run as root to build $ROOTFS (received uid $(id -u))" "run it as root, as scripts/dev-slurm.sh does"
mkdir -p -- "$(dirname -- "$ROOTFS")"
# Two test runs may ask at once: one builds, the other waits for it and reuses the result.
exec 9>"$ROOTFS.lock"
flock 9
if current; then printf '%s\n' "$ROOTFS"; exit 0; fi
in_use && die "$ROOTFS is out of date but a test cluster has it mounted" "run scripts/dev-slurm.sh --slurm $VERSION down first"

if ! command -v mmdebstrap >/dev/null; then
  say "installing mmdebstrap (Debian 12's own package) to build the root filesystem"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=120 update -qq >&2 || die "apt-get update failed" "check that this machine reaches the Debian package registry"
  apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends mmdebstrap >&2 || die "apt-get install mmdebstrap failed" "see the apt output above"
fi

start=$(date +%s)
building="$ROOTFS.building"
rm -rf -- "$building"
say "building $ROOTFS: Debian $SUITE with Slurm $VERSION (about 25 s and 200 MB)"
# minbase + what the cluster needs; no locales or docs. The maintainer scripts must not start
# services: mmdebstrap runs them in the chroot, where there is no init (policy-rc.d is its default).
mmdebstrap --variant=minbase --include="$(IFS=,; printf '%s' "${PACKAGES[*]}")" \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  "$SUITE" "$building" "$(mirror)" >&2 ||
  { rm -rf -- "$building"; die "mmdebstrap could not build the $SUITE root filesystem" "check that this machine reaches the Debian package registry ($(mirror))"; }
installed="$(chroot "$building" dpkg-query -W -f='${Version}' slurmd 2>/dev/null || true)"
case "$installed" in
  "$VERSION".*) ;;
  *) rm -rf -- "$building"; die "the $SUITE root filesystem has slurmd '$installed', not $VERSION" "the suite moved on: update the recipe in $0" ;;
esac
[ -s "$building/etc/munge/munge.key" ] || { rm -rf -- "$building"; die "the munge package made no /etc/munge/munge.key" "see the mmdebstrap output above"; }
# Mount points dev-slurm.sh fills: the node binary's path, and where a node pivots its old root to.
mkdir -p "$building/.oldroot" "$building/run/netns"
printf 'inputs=%s\n%s' "$(want_hash)" "$(inputs)" >"$building/.raysl-rootfs"
printf 'slurm=%s\n' "$installed" >>"$building/.raysl-rootfs"
rm -rf -- "$ROOTFS"
mv -- "$building" "$ROOTFS"
say "ready in $(( $(date +%s) - start )) s: slurm $installed, $(du -sm "$ROOTFS" | cut -f1) MB"
printf '%s\n' "$ROOTFS"
