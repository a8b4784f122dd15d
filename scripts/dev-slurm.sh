#!/usr/bin/env bash
# raysl's test cluster: a real Slurm (Debian's slurmctld + one `slurmd -N <node>` per node) on this
# one host, every node a separate network host. slurmctld runs on the "login node" (the host's own
# namespaces) behind a Linux bridge; every slurmd runs in its own network namespace (own address,
# own port space: daemons binding 0.0.0.0:<port> on every node never collide), its own UTS
# namespace (`hostname` in a step prints the node name) and its own mount namespace (fresh sysfs,
# the host's cgroup v1 hierarchies re-mounted, a node-specific /etc/hosts and /etc/resolv.conf).
# Fake GPUs are GRES character devices (= /dev/null).
#
#   scripts/dev-slurm.sh up           install if needed, start, wait until every node is idle (idempotent)
#   scripts/dev-slurm.sh down         cancel jobs, stop only what `up` started, remove its state
#   scripts/dev-slurm.sh status       nodes, addresses and states, or "not running" (exit 1)
#   scripts/dev-slurm.sh netns <node> path of the node's network namespace, for
#                                     `nsenter --net=<path> <command>` (exit 1 if there is none)
#   scripts/dev-slurm.sh enter <cmd>  run <cmd> (bash -c) where this cluster's client commands are:
#                                     inside the root filesystem for 24.11, here for 22.05
#
# Slurm generations: without a flag, Debian 12's own Slurm 22.05 installed on this host. With
# `--slurm 24.11` (or RAYSL_SLURM_VERSION=24.11), Debian 13's Slurm 24.11 from a root filesystem
# that scripts/slurm-rootfs.sh builds once and caches: slurmctld and munged run chrooted into it, every
# slurmd pivots its own mount namespace into it, and /tmp, /root, the project and Node are bind-mounted
# at the same paths, so the client commands (`enter`) and raysl's tests run there unchanged. Its
# defaults differ from 22.05's so both run side by side: /tmp/raysl-slurm24, subnet 10.224.0, ports
# 26817/27001, its own munged and key, node names in the root filesystem's /etc/hosts only, its
# slurmds' cgroups under raysl-<id>/ of each hierarchy, job ids from 1000000. A directory remembers
# its generation: `down`, `status`, `netns` and `enter` with RAYSL_SLURM_DIR need no flag.
#
# Facts this relies on: /work/shared/reference/slurm-on-one-host.md (Slurm 22.05, Debian 12) and
# /work/shared/reference/slurm-netns.md (the network namespace design).
set -euo pipefail

# --slurm <version> anywhere among the arguments; the rest are the command and its arguments.
GEN="${RAYSL_SLURM_VERSION:-}"
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --slurm) [ $# -ge 2 ] || { printf 'dev-slurm: error: --slurm needs a version (22.05 or 24.11)\n' >&2; exit 1; }; GEN="$2"; shift 2 ;;
    --slurm=*) GEN="${1#--slurm=}"; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
set -- ${ARGS[@]+"${ARGS[@]}"}
case "$GEN" in
  24.11) DEFAULT_DIR=/tmp/raysl-slurm24 ;;
  '' | 22.05) DEFAULT_DIR=/tmp/raysl-slurm ;;
  *) printf 'dev-slurm: error: --slurm must be 22.05 or 24.11 (received %s)\nhint: omit it for 22.05, the host'"'"'s own Slurm\n' "'$GEN'" >&2; exit 1 ;;
esac
DIR="${RAYSL_SLURM_DIR:-$DEFAULT_DIR}"
# A directory remembers its generation, so `down`/`status` of a 24.11 cluster need no flag.
if [ -z "$GEN" ] && [ -s "$DIR/slurm-generation" ]; then GEN="$(cat "$DIR/slurm-generation")"; fi
[ -n "$GEN" ] || GEN=22.05
if [ "$GEN" = 24.11 ]; then DEF_SUBNET=10.224.0 DEF_CTLD_PORT=26817 DEF_SLURMD_PORT=27001; else DEF_SUBNET=10.213.0 DEF_CTLD_PORT=16817 DEF_SLURMD_PORT=17001; fi
NODES="${RAYSL_SLURM_NODES:-node[1-4]}"
CPUS="${RAYSL_SLURM_CPUS:-4}"
GPUS="${RAYSL_SLURM_GPUS:-4}"
MEM="${RAYSL_SLURM_MEM:-4096}"
CTLD_PORT="${RAYSL_SLURM_CTLD_PORT:-$DEF_CTLD_PORT}"
# One slurmd port for every node (each node has its own port space). RAYSL_SLURM_PORT_BASE is the
# older name, from when every node needed a port of its own.
SLURMD_PORT="${RAYSL_SLURM_SLURMD_PORT:-${RAYSL_SLURM_PORT_BASE:-$DEF_SLURMD_PORT}}"
SUBNET="${RAYSL_SLURM_SUBNET:-$DEF_SUBNET}"
# A second, node-only network, like the InfiniBand fabric of a real cluster: every node has an
# `ib0` at <ib subnet>.(10+K) on a bridge of its own that the login node has no address on.
# Default: the subnet's second octet + 10 (10.213.0 -> 10.223.0).
IB_SUBNET="${RAYSL_SLURM_IB_SUBNET:-$(awk -F. '{ printf "%s.%d.%s", $1, ($2 + 10) % 256, $3 }' <<<"$SUBNET")}"
PROCTRACK="${RAYSL_SLURM_PROCTRACK:-auto}"
KILLWAIT="${RAYSL_SLURM_KILLWAIT:-2}"
WAIT_S="${RAYSL_SLURM_WAIT:-30}"

MARKER="$DIR/.raysl-slurm"
CONF="$DIR/etc/slurm.conf"
# Network object names derive from the directory (a cluster's identity), so two clusters with
# different RAYSL_SLURM_DIR never share one. Interface names are at most 15 characters.
CID="$(printf '%s' "$DIR" | sha256sum | cut -c1-6)"
BRIDGE="rsl${CID}br"
IB_BRIDGE="rsl${CID}ib"
NS_PREFIX="raysl-$CID-"
NETFILE="$DIR/nodes.net" # one line per node: <node> <address> <netns path> <ib0 address>
HOSTS_BEGIN="# BEGIN raysl-slurm $DIR (managed by scripts/dev-slurm.sh; removed by 'down')"
HOSTS_END="# END raysl-slurm $DIR"
PACKAGES=(slurmctld slurmd slurm-client munge)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$(dirname "$HERE")"
# 24.11: the root filesystem ("" for 22.05: the host is the root). Inside it (a test run in `enter`),
# its stamp is at / and the client commands are already the right ones.
ROOT=""
INSIDE=0
if [ "$GEN" = 24.11 ]; then
  if [ -f /.raysl-rootfs ]; then INSIDE=1
  elif [ -s "$DIR/rootfs" ]; then ROOT="$(cat "$DIR/rootfs")" # the one this cluster was started from
  else ROOT="$("$HERE/slurm-rootfs.sh" 24.11 --path)"; fi
fi
HOSTS_FILE="$ROOT/etc/hosts"
# Runs a Slurm or munge command of this cluster's generation (chroot, which keeps the environment).
sl() { if [ -n "$ROOT" ]; then chroot "$ROOT" "$@"; else "$@"; fi; }

say() { printf 'dev-slurm: %s\n' "$*" >&2; }
die() { printf 'dev-slurm: error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf 'dev-slurm: hint: %s\n' "$2" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# Poll interval with backoff: 20 ms doubling to 200 ms (never a fixed wait for an outcome).
backoff() { local i="$1"; local ms=$((20 << (i < 4 ? i : 4))); [ "$ms" -gt 200 ] && ms=200; sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"; }
deadline_passed() { awk -v d="$1" -v n="$(now)" 'BEGIN { exit !(n > d) }'; }
deadline_in() { awk -v s="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + s }'; }
# A slurmctld of another lab that is really running (a just-stopped one can linger as a zombie).
live_slurmctld() {
  local q
  for q in $(pgrep -x slurmctld || true); do
    [ "$(awk '{print $3}' "/proc/$q/stat" 2>/dev/null || echo Z)" != Z ] && return 0
  done
  return 1
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
pid_of() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (received uid $(id -u)): it starts slurmctld/slurmd as root, creates network namespaces, fake GPU devices and edits /etc/hosts" \
    "run it with sudo, or as root in the dev container"
}

need_tools() {
  local t
  local tools=(ip nsenter unshare mount sha256sum)
  [ "$GEN" = 24.11 ] && tools+=(chroot pivot_root mountpoint)
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || die "'$t' is not installed" "apt-get install iproute2 util-linux mount coreutils"
  done
}

# The subnet's three leading octets; node addresses are <subnet>.(10+K), the login side <subnet>.1.
check_subnet() {
  [[ "$SUBNET" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
    [ "${BASH_REMATCH[1]}" -le 255 ] && [ "${BASH_REMATCH[2]}" -le 255 ] && [ "${BASH_REMATCH[3]}" -le 255 ] ||
    die "RAYSL_SLURM_SUBNET must be three octets such as 10.213.0 (received '$SUBNET')" "unset it for 10.213.0"
  [[ "$IB_SUBNET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] && [ "$IB_SUBNET" != "$SUBNET" ] ||
    die "RAYSL_SLURM_IB_SUBNET must be three octets other than RAYSL_SLURM_SUBNET ($SUBNET) (received '$IB_SUBNET')" "unset it for the default (second octet + 10)"
  [ -z "${RAYSL_SLURM_ADDR_NET:-}" ] ||
    die "RAYSL_SLURM_ADDR_NET is no longer used: nodes are network namespaces on a bridge now" "set RAYSL_SLURM_SUBNET (three octets, default 10.213.0) instead"
}

# ---------------------------------------------------------------- install
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || printf '%s\n' "$p"
  done
}

# Another engineer may be running apt at the same moment: apt waits on the dpkg lock itself
# (DPkg::Lock::Timeout), and the retry loop covers the lists lock of `apt-get update`.
apt_retry() {
  local until; until="$(deadline_in 180)"; local i=0
  until apt-get -o DPkg::Lock::Timeout=60 "$@"; do
    deadline_passed "$until" && die "apt-get $* kept failing for 180 s" "look for a stuck apt/dpkg process (ps aux | grep -E 'apt|dpkg'); then rerun"
    say "apt-get busy or failed; retrying"
    backoff "$i"; i=$((i + 1))
  done
}

install_packages() {
  local missing; missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null || die "packages missing (${missing//$'\n'/ }) and apt-get is not available" "install slurmctld slurmd slurm-client munge with your package manager"
  local t0; t0="$(now)"
  say "installing: ${missing//$'\n'/ }"
  # Services must not start on install (we start our own daemons); keep an existing policy.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt_retry update -qq >&2
  # shellcheck disable=SC2086 # one package per word on purpose
  apt_retry install -y -qq --no-install-recommends $missing >&2
  [ "$made_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  say "installed in $(elapsed "$t0") s"
  missing="$(missing_packages)"
  [ -z "$missing" ] || die "still missing after apt-get install: ${missing//$'\n'/ }" "see the apt output above"
}

# ---------------------------------------------------------------- 24.11: the root filesystem's mounts
ROOT_MOUNTS="$DIR/rootfs-mounts" # the mount points made in the root filesystem, in the order made

# What must be at the same path inside: /tmp (cluster state, job dirs, TMPDIR), /root (HOME, the Ray
# venv and its Python), the project, its node_modules when they live elsewhere, and Node.
bind_sources() {
  local p covered
  for p in /root /tmp "$PROJECT" "$(readlink -f "$PROJECT/node_modules" 2>/dev/null || true)" "$(readlink -f "$(command -v node)")"; do
    [ -n "$p" ] && [ -e "$p" ] || continue
    covered=0
    case "$p" in /root | /tmp) ;; /root/* | /tmp/* | "$PROJECT"/*) covered=1 ;; esac
    [ "$covered" -eq 0 ] && printf '%s\n' "$p"
  done | awk '!seen[$0]++'
}

mounted_under_root() { awk -v r="$ROOT/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts; }

root_bind() {
  local src="$1" mp="$ROOT$1"
  if [ -d "$src" ]; then mkdir -p "$mp"; else mkdir -p "$(dirname "$mp")"; [ -e "$mp" ] || : >"$mp"; fi
  mount --rbind "$src" "$mp"
  # nothing mounted inside (a node's tmpfs, say) may propagate back to the host's tree
  mount --make-rslave "$mp"
  printf '%s\n' "$mp" >>"$ROOT_MOUNTS"
}

rootfs_up() {
  local other; other="$(mounted_under_root | head -1)"
  [ -z "$other" ] || die "the Slurm 24.11 root filesystem $ROOT is in use already ($other is mounted; cluster: $(cat "$ROOT/.raysl-mounted-by" 2>/dev/null || echo unknown))" \
    "one 24.11 cluster per root filesystem: stop the other (RAYSL_SLURM_DIR=<its dir> $0 down) or set RAYSL_SLURM_ROOTFS"
  printf '%s\n' "$DIR" >"$ROOT/.raysl-mounted-by"
  : >"$ROOT_MOUNTS"
  local p
  # /root first: the root filesystem usually lives under it, and an rbind made later would copy
  # every mount already made inside the root filesystem
  root_bind /root
  mount -t proc proc "$ROOT/proc"
  printf '%s\n' "$ROOT/proc" >>"$ROOT_MOUNTS"
  root_bind /sys
  root_bind /dev
  root_bind /tmp
  while read -r p; do [ "$p" = /root ] || [ "$p" = /tmp ] || root_bind "$p"; done < <(bind_sources)
  # the nodes' network namespaces, for `nsenter --net=/run/netns/<ns>` from inside
  root_bind /run/netns
}

rootfs_down() {
  [ -n "$ROOT" ] || return 0
  local owner; owner="$(cat "$ROOT/.raysl-mounted-by" 2>/dev/null || true)"
  # another cluster's mounts are not ours to remove
  [ -z "$owner" ] || [ "$owner" = "$DIR" ] || return 0
  local mp
  if [ -s "$ROOT_MOUNTS" ]; then
    while read -r mp; do
      umount -R "$mp" 2>/dev/null || umount -R -l "$mp" 2>/dev/null || say "could not unmount $mp"
    done < <(tac "$ROOT_MOUNTS")
  fi
  # whatever a half-finished `up` left that the list does not name, deepest first
  while read -r mp; do umount -l "$mp" 2>/dev/null || true; done < <(mounted_under_root | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  [ -z "$(mounted_under_root)" ] || say "still mounted under $ROOT: $(mounted_under_root | tr '\n' ' ')"
  [ "$(cat "$ROOT/.raysl-mounted-by" 2>/dev/null || true)" = "$DIR" ] && rm -f "$ROOT/.raysl-mounted-by"
  return 0
}

# ---------------------------------------------------------------- helpers on a lab
expand_nodes() {
  # scontrol needs a config even to expand a hostlist; a two-line stub contacts no controller.
  # 24.11: the stub goes where the root filesystem's scontrol finds it (its /tmp, bound or not yet)
  local stub rc=0; stub="$(mktemp "$ROOT/tmp/raysl-hostlist-XXXXXX")"
  printf 'ClusterName=stub\nSlurmctldHost=%s(127.0.0.1)\n' "$(hostname -s)" >"$stub"
  SLURM_CONF="${stub#"$ROOT"}" sl scontrol show hostnames "$1" || rc=$?
  rm -f "$stub"
  return "$rc"
}

port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

lab_nodes() { [ -s "$DIR/nodes" ] && cat "$DIR/nodes"; }

# ---------------------------------------------------------------- network
login_addr() { printf '%s.1\n' "$SUBNET"; }
node_addr() {
  local i="$1"
  [ "$i" -le 244 ] || die "at most 244 nodes fit in $SUBNET.0/24 (received node #$i)" "use fewer nodes"
  printf '%s.%s\n' "$SUBNET" "$((10 + i))"
}
netns_name() { printf '%s%s\n' "$NS_PREFIX" "$1"; }
veth_name() { printf 'rsl%sv%s\n' "$CID" "$1"; } # host side of node #K's pair; its peer is eth0 in the node
ib_veth_name() { printf 'rsl%si%s\n' "$CID" "$1"; } # host side of node #K's fabric pair; its peer is ib0
ib_addr() { printf '%s.%s\n' "$IB_SUBNET" "$((10 + $1))"; }
ns_inode() { readlink "/proc/$$/ns/$1"; }

# Addresses or routes of this subnet other than our bridge's: another cluster, or a real network.
subnet_taken_by() {
  ip -4 -o addr show 2>/dev/null | awk -v net="$SUBNET." -v br="$BRIDGE" \
    '{ split($4, a, "/"); if (index(a[1], net) == 1 && $2 != br) print $2 " " $4 }'
  # routes covering the /24 (but not the default route) or inside it
  { ip -4 route show match "$SUBNET.0/24"; ip -4 route show root "$SUBNET.0/24"; } 2>/dev/null |
    awk -v br="$BRIDGE" '$1 != "default" { for (i = 1; i < NF; i++) if ($i == "dev" && $(i + 1) == br) next; print "route " $0 }' | sort -u
}

# Every cgroup hierarchy mounted under /sys/fs/cgroup, as "<fstype> <dir> <options>" ("." = the
# mount point itself, for a pure cgroup v2 host). A node re-mounts them by name, which attaches it
# to the same hierarchies: proctrack/cgroup works as on the host.
cgroup_mounts() {
  awk '{
    for (i = 7; i <= NF; i++) if ($i == "-") break
    fs = $(i + 1); opts = $(i + 3); mp = $5
    if (fs != "cgroup" && fs != "cgroup2") next
    if (mp == "/sys/fs/cgroup") d = "."; else if (index(mp, "/sys/fs/cgroup/") == 1) d = substr(mp, 16); else next
    if (d ~ /\//) next
    n = split(opts, o, ","); keep = ""
    for (j = 1; j <= n; j++) if (o[j] != "rw" && o[j] != "ro") keep = keep (keep == "" ? "" : ",") o[j]
    print fs, d, (keep == "" ? "-" : keep)
  }' /proc/self/mountinfo
  # Links such as cpu -> cpu,cpuacct, recreated as they are.
  local l
  for l in /sys/fs/cgroup/*; do [ -L "$l" ] && printf 'link %s %s\n' "${l##*/}" "$(readlink "$l")"; done
  return 0
}

# The login side: a bridge with <subnet>.1, no STP and no forwarding (node traffic never leaves it).
net_up_bridge() {
  ip link add "$BRIDGE" type bridge stp_state 0
  printf '0\n' >"/proc/sys/net/ipv4/conf/$BRIDGE/forwarding"
  ip addr add "$(login_addr)/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # the fabric: nodes only, no address on the login side
  ip link add "$IB_BRIDGE" type bridge stp_state 0
  printf '0\n' >"/proc/sys/net/ipv4/conf/$IB_BRIDGE/forwarding"
  ip link set "$IB_BRIDGE" up
}

# Node #K: a namespace; a veth pair, one end on the bridge, the other its eth0 with <subnet>.(10+K).
net_up_node() {
  local k="$1" n="$2" ns veth addr
  ns="$(netns_name "$n")"; veth="$(veth_name "$k")"; addr="$(node_addr "$k")"
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  # The default route lets node-IP autodetection (a UDP connect to an outside address) find the
  # node's address; forwarding is off on the bridge, so nothing is routed beyond the login node.
  ip -n "$ns" route add default via "$(login_addr)"
  local iveth ib; iveth="$(ib_veth_name "$k")"; ib="$(ib_addr "$k")"
  ip link add "$iveth" type veth peer name ib0 netns "$ns"
  ip link set "$iveth" master "$IB_BRIDGE" up
  ip -n "$ns" addr add "$ib/24" dev ib0
  ip -n "$ns" link set ib0 up
  printf '%s %s %s %s\n' "$n" "$addr" "/run/netns/$ns" "$ib" >>"$NETFILE"
}

# Removes this cluster's namespaces, veths and bridge: the ones it recorded, and any other object
# carrying its name prefix (left behind by a half-finished run).
net_down() {
  local l ns
  for l in /sys/class/net/"rsl${CID}v"* /sys/class/net/"rsl${CID}i"*; do
    [ -e "$l" ] && { ip link del "${l##*/}" 2>/dev/null || say "could not remove interface ${l##*/}"; }
  done
  for ns in /run/netns/"$NS_PREFIX"*; do
    [ -e "$ns" ] && { ip netns del "${ns##*/}" 2>/dev/null || say "could not remove netns ${ns##*/}"; }
  done
  if [ -e "/sys/class/net/$BRIDGE" ]; then ip link del "$BRIDGE" 2>/dev/null || say "could not remove bridge $BRIDGE"; fi
  if [ -e "/sys/class/net/$IB_BRIDGE" ]; then ip link del "$IB_BRIDGE" 2>/dev/null || say "could not remove bridge $IB_BRIDGE"; fi
  return 0
}

# What a node's /etc/hosts and /etc/resolv.conf say. No name server: the host's resolver is not
# reachable from a node, and an unknown name would take 20 s to fail instead of milliseconds.
write_node_files() {
  local host; host="$(hostname)"
  local short; short="$(hostname -s)"
  mkdir -p "$DIR/net"
  {
    printf '%s\n' "# $DIR: every node of this test cluster, and the login node (the host) at the bridge address" \
      "127.0.0.1 localhost" "::1 localhost ip6-localhost ip6-loopback"
    if [ "$host" = "$short" ]; then printf '%s %s\n' "$(login_addr)" "$host"; else printf '%s %s %s\n' "$(login_addr)" "$host" "$short"; fi
    local i=0 n
    for n in "$@"; do i=$((i + 1)); printf '%s %s\n' "$(node_addr "$i")" "$n"; done
  } >"$DIR/net/hosts"
  printf '%s\n' "# $DIR: no name server on a test node; names are in /etc/hosts" "options timeout:1 attempts:1" >"$DIR/net/resolv.conf"
  cgroup_mounts >"$DIR/net/cgroup-mounts"
}

# Runs inside `nsenter --net=<node netns> unshare --uts --mount --propagation slave`, as
# `bash -c "$NODE_INIT" node-init <node> <dir> <uts> <mnt> <net>` (the last three: the namespaces
# of dev-slurm.sh itself). It refuses to rename or mount anything unless it really is in other
# namespaces than that: run in the host's, these commands would rename the host and remount its /sys.
# shellcheck disable=SC2016 # expanded by the inner shell
NODE_INIT='set -eu
n="$1" dir="$2" root="${6:-}" sub="${7:-}"
if [ "$(readlink /proc/self/ns/uts)" = "$3" ] || [ "$(readlink /proc/self/ns/mnt)" = "$4" ] || [ "$(readlink /proc/self/ns/net)" = "$5" ]; then
  echo "node-init $n: not inside new uts/mnt/net namespaces; refusing to change the hostname or mount anything" >&2
  exit 1
fi
hostname "$n"
# 24.11: the node'"'"'s mounts go on the root filesystem ($root), which becomes its root below.
if [ -n "$root" ]; then mount --rbind "$root" "$root"; fi
r="$root"
# Fresh sysfs: /sys/class/net lists only lo and eth0 of this node (NCCL and others read it).
mount -t sysfs sysfs "$r/sys"
if grep -q "^cgroup2 \. " "$dir/net/cgroup-mounts"; then
  mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
  if [ -n "$root" ]; then mkdir -p "$r/sys/fs/cgroup/$sub"; mount --bind "$r/sys/fs/cgroup/$sub" "$r/sys/fs/cgroup"; fi
else
  mount -t tmpfs -o mode=755 cgroup "$r/sys/fs/cgroup"
  while read -r fs d opts; do
    case "$fs" in
      cgroup) mkdir -p "$r/sys/fs/cgroup/$d"; mount -t cgroup -o "$opts" cgroup "$r/sys/fs/cgroup/$d" ;;
      cgroup2) mkdir -p "$r/sys/fs/cgroup/$d"; mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup/$d" ;;
      link) ln -s "$opts" "$r/sys/fs/cgroup/$d" ;;
    esac
    # 24.11: its slurmd sees a subtree of each hierarchy as the whole, so its slurm_<node> cgroups
    # never meet those of the 22.05 cluster (same node names) on the shared hierarchies
    case "$fs" in cgroup | cgroup2) if [ -n "$root" ]; then mkdir -p "$r/sys/fs/cgroup/$d/$sub"; mount --bind "$r/sys/fs/cgroup/$d/$sub" "$r/sys/fs/cgroup/$d"; fi ;; esac
  done <"$dir/net/cgroup-mounts"
fi
mount --bind "$dir/net/hosts" "$r/etc/hosts"
mount --bind "$dir/net/resolv.conf" "$r/etc/resolv.conf"
if [ -n "$root" ]; then
  # pivot_root, not chroot: the namespace'"'"'s root is then the root filesystem, so whoever enters it
  # (nsenter --mount=/proc/<slurmd>/ns/mnt) lands where slurmd and its jobs are
  cd "$root"
  pivot_root . .oldroot
  cd /
  umount -l /.oldroot
fi
exec slurmd -N "$n"'

idle_count() { SLURM_CONF="$CONF" sl sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l; }
# Nodes busy with someone's jobs are healthy too: a second `up` must never tear down a working cluster.
# plnd: idle but planned for a pending job by the backfill scheduler (a pending multi-node or het
# job); a busy cluster, not a broken one (counting it unusable made test runs restart the cluster)
usable_count() { SLURM_CONF="$CONF" sl sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 ~ /^(idle|mix|alloc|comp|plnd)$/' | wc -l; }

healthy() {
  [ -f "$MARKER" ] && [ -f "$CONF" ] && [ -e "/sys/class/net/$BRIDGE" ] || return 1
  if [ -n "$ROOT" ]; then mountpoint -q "$ROOT/proc" && mountpoint -q "$ROOT/tmp" || return 1; fi
  alive "$(pid_of "$DIR/run/slurmctld.pid")" || return 1
  local n count=0
  while read -r n; do
    alive "$(pid_of "$DIR/run/slurmd-$n.pid")" || return 1
    [ -e "/run/netns/$(netns_name "$n")" ] || return 1
    count=$((count + 1))
  done < <(lab_nodes)
  [ "$count" -gt 0 ] && [ "$(usable_count)" -eq "$count" ]
}

print_where() {
  printf 'cluster: %s nodes (%s), %s CPUs / %s GPUs / %s MB each, proctrack %s\n' \
    "$(lab_nodes | wc -l)" "$(cat "$DIR/nodelist")" "$CPUS" "$GPUS" "$MEM" "$(cat "$DIR/proctrack")"
  printf 'network: bridge %s, login node %s, nodes %s (one netns each: %s netns <node>)\n' \
    "$BRIDGE" "$(cat "$DIR/login-addr")" "$(awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2 }' "$NETFILE")" "$0"
  printf 'config:  %s\nlogs:    %s/log/\nenv:     source %s/env.sh\n' "$CONF" "$DIR" "$DIR"
  if [ "$GEN" = 24.11 ]; then
    printf 'slurm:   24.11 from %s (clients: %s enter <command>)\n' "${ROOT:-/ (inside it)}" "$0 --slurm 24.11"
  else
    printf 'slurm:   22.05 (this host'"'"'s packages)\n'
  fi
}

# ---------------------------------------------------------------- config
pick_proctrack() {
  case "$PROCTRACK" in
    cgroup | linuxproc | pgid) printf '%s\n' "$PROCTRACK"; return ;;
    auto) ;;
    *) die "RAYSL_SLURM_PROCTRACK must be auto, cgroup, linuxproc or pgid (received '$PROCTRACK')" "unset it to pick automatically" ;;
  esac
  # Only cgroup v1 (freezer) kills double-forked/setsid children on scancel; probe it really works.
  local probe="/sys/fs/cgroup/freezer/raysl-probe-$$"
  if [ -d /sys/fs/cgroup/freezer ] && mkdir "$probe" 2>/dev/null; then
    rmdir "$probe"; printf 'cgroup\n'
  else
    say "WARNING: cgroup v1 freezer not usable here; falling back to proctrack/linuxproc (double-forked job children can leak on scancel)"
    printf 'linuxproc\n'
  fi
}

write_config() {
  local proctrack="$1"; shift
  local ctld_host; ctld_host="$(hostname -s)"
  mkdir -p "$DIR/etc" "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log" "$DIR/dev" "$DIR/jobs"
  {
    printf '%s\n' "# generated by scripts/dev-slurm.sh; do not edit (rerun 'down' then 'up')" \
      "ClusterName=raysl" \
      "# the login node, as the nodes reach it: the bridge address" \
      "SlurmctldHost=$ctld_host($(login_addr))" \
      "SlurmctldPort=$CTLD_PORT" \
      "SlurmUser=root" "SlurmdUser=root" \
      "AuthType=auth/munge" "CredType=cred/munge" \
      "# a requeued job waits out the step credential's lifetime before it may start again (default 120 s)" \
      "AuthInfo=cred_expire=10" \
      "StateSaveLocation=$DIR/state" \
      "# %n = node name: every slurmd gets its own spool dir, pid file and log" \
      "SlurmdSpoolDir=$DIR/spool/%n" \
      "SlurmctldPidFile=$DIR/run/slurmctld.pid" \
      "SlurmdPidFile=$DIR/run/slurmd-%n.pid" \
      "SlurmctldLogFile=$DIR/log/slurmctld.log" \
      "SlurmdLogFile=$DIR/log/slurmd-%n.log" \
      "SlurmctldDebug=info" "SlurmdDebug=info" \
      "ProctrackType=proctrack/$proctrack" \
      "TaskPlugin=task/none" \
      "JobAcctGatherType=jobacct_gather/none" \
      "AccountingStorageType=accounting_storage/none" \
      "JobCompType=jobcomp/none" \
      "MpiDefault=none" \
      "MailProg=/bin/true" \
      "SelectType=select/cons_tres" \
      "SelectTypeParameters=CR_Core" \
      "SchedulerType=sched/backfill" \
      "# batch jobs start on the next 1 s scheduler tick instead of after the 3 s default delay; het jobs" \
      "# start only in a backfill cycle: every 2 s instead of 30; a requeued job, eligible once its" \
      "# BeginTime (cred_expire + 1 s) passes, is started by the main loop: every 2 s instead of 60" \
      "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=2,sched_interval=2" \
      "# node CPUs/memory come from this file, not from the (small) host" \
      "SlurmdParameters=config_overrides" \
      "ReturnToService=2" \
      "KillWait=$KILLWAIT" \
      "InactiveLimit=0" \
      "MinJobAge=300" \
      "MessageTimeout=10"
    # job ids of its own: the 22.05 cluster's slurmd use the same node names, and job ids that
    # never meet keep every record and path of one cluster's jobs apart from the other's
    [ "$GEN" = 24.11 ] && printf 'FirstJobId=1000000\n'
    [ "$GPUS" -gt 0 ] && printf 'GresTypes=gpu\n'
    local i=0 n gres=""
    [ "$GPUS" -gt 0 ] && gres=" Gres=gpu:$GPUS"
    for n in "$@"; do
      i=$((i + 1))
      printf 'NodeName=%s NodeHostname=%s NodeAddr=%s Port=%s CPUs=%s RealMemory=%s%s State=UNKNOWN\n' \
        "$n" "$n" "$(node_addr "$i")" "$SLURMD_PORT" "$CPUS" "$MEM" "$gres"
    done
    printf 'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO\n'
  } >"$CONF"
  {
    printf 'AutoDetect=off\n'
    if [ "$GPUS" -gt 0 ]; then
      for n in "$@"; do printf 'NodeName=%s Name=gpu File=%s/dev/nvidia[0-%s]\n' "$n" "$DIR" "$((GPUS - 1))"; done
    fi
  } >"$DIR/etc/gres.conf"
  if [ "$proctrack" = cgroup ]; then
    # CgroupAutomount is gone from 24.11's cgroup.conf (its man page no longer has it)
    if [ "$GEN" = 24.11 ]; then
      printf '%s\n' "CgroupPlugin=cgroup/v1" "ConstrainCores=no" "ConstrainRAMSpace=no" "ConstrainDevices=no" >"$DIR/etc/cgroup.conf"
    else
      printf '%s\n' "CgroupPlugin=cgroup/v1" "CgroupAutomount=no" "ConstrainCores=no" "ConstrainRAMSpace=no" "ConstrainDevices=no" >"$DIR/etc/cgroup.conf"
    fi
  fi
  # Character devices, not files: only then does Slurm set CUDA_VISIBLE_DEVICES (reference §3.6).
  local g
  for ((g = 0; g < GPUS; g++)); do
    [ -c "$DIR/dev/nvidia$g" ] || mknod -m 666 "$DIR/dev/nvidia$g" c 1 3
  done
  printf 'export SLURM_CONF=%q\n' "$CONF" >"$DIR/env.sh"
}

hosts_remove_block() {
  grep -qxF "$HOSTS_BEGIN" "$HOSTS_FILE" 2>/dev/null || return 0
  # Rewrite in place: /etc/hosts is often a bind mount that cannot be replaced by rename.
  local kept; kept="$(awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' "$HOSTS_FILE")"
  printf '%s\n' "$kept" >"$HOSTS_FILE"
}

# A name this cluster is about to use, already in /etc/hosts outside its own block.
hosts_has_node() {
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" -v n="$1" '
    $0 == b { skip = 1; next } $0 == e { skip = 0; next }
    !skip && $1 !~ /^#/ { for (i = 2; i <= NF; i++) if ($i == n) found = 1 }
    END { exit !found }' "$HOSTS_FILE" 2>/dev/null
}

hosts_add_block() {
  hosts_remove_block
  {
    printf '%s\n' "$HOSTS_BEGIN"
    local i=0 n
    for n in "$@"; do i=$((i + 1)); printf '%s %s\n' "$(node_addr "$i")" "$n"; done
    # the root filesystem's own file knows nothing of this host: name the login node too
    [ -n "$ROOT" ] && printf '%s %s\n' "$(login_addr)" "$(hostname)"
    printf '%s\n' "$HOSTS_END"
  } >>"$HOSTS_FILE"
}

# ---------------------------------------------------------------- daemons
munge_ok() { sl munge -n 2>/dev/null | sl unmunge >/dev/null 2>&1; }

# 24.11: the root filesystem's own munged and key (socket <root>/run/munge), never the host's.
start_munge_root() {
  munge_ok && return 0
  sl install -d -o munge -g munge -m 755 /run/munge
  sl runuser -u munge -- /usr/sbin/munged
  local until; until="$(deadline_in 10)"; local i=0
  until munge_ok; do
    deadline_passed "$until" && die "munged (Slurm 24.11 root filesystem) did not answer within 10 s" "see $ROOT/var/log/munge/munged.log"
    backoff "$i"; i=$((i + 1))
  done
  pid_of "$ROOT/run/munge/munged.pid" >"$DIR/run/munged.started"
}

start_munge() {
  [ -n "$ROOT" ] && { start_munge_root; return; }
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  install -d -o munge -g munge -m 755 /run/munge
  [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key is missing" "reinstall munge: apt-get install --reinstall munge"
  runuser -u munge -- /usr/sbin/munged
  # munged writes its own pid file; remember it so `down` stops only the munged we started.
  local until; until="$(deadline_in 10)"; local i=0
  until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
    deadline_passed "$until" && die "munged did not answer within 10 s" "see /var/log/munge/munged.log"
    backoff "$i"; i=$((i + 1))
  done
  pid_of /run/munge/munged.pid >"$DIR/run/munged.started"
}

start_daemons() {
  local nodes=("$@")
  export SLURM_CONF="$CONF"
  sl slurmctld -i || die "slurmctld failed to start" "see $DIR/log/slurmctld.log"
  local n
  local uts mnt net; uts="$(ns_inode uts)"; mnt="$(ns_inode mnt)"; net="$(ns_inode net)"
  for n in "${nodes[@]}"; do
    # Only the network namespace is entered (`ip netns exec` would remount /sys and lose the
    # cgroup hierarchies); UTS and mount namespaces are new. slurmd daemonizes itself.
    nsenter --net="/run/netns/$(netns_name "$n")" -- unshare --uts --mount --propagation slave -- \
      bash -c "$NODE_INIT" node-init "$n" "$DIR" "$uts" "$mnt" "$net" "$ROOT" "raysl-$CID" ||
      die "slurmd -N $n failed to start" "see $DIR/log/slurmd-$n.log"
  done
}

wait_idle() {
  local want="$1" until; until="$(deadline_in "$WAIT_S")"; local i=0
  until [ "$(idle_count)" -eq "$want" ]; do
    if deadline_passed "$until"; then
      SLURM_CONF="$CONF" sl sinfo -N -o '%N %t %E' >&2 || true
      die "only $(idle_count) of $want nodes became idle within ${WAIT_S}s" "see $DIR/log/slurmctld.log and $DIR/log/slurmd-<node>.log"
    fi
    backoff "$i"; i=$((i + 1))
  done
}

cmd_up() {
  need_root
  [ "$INSIDE" -eq 0 ] || die "'up' runs on the host, not inside the Slurm 24.11 root filesystem" "run $0 --slurm 24.11 up on the host, then enter"
  local t0; t0="$(now)"
  if healthy; then
    say "already up ($(elapsed "$t0") s)"
    print_where
    return 0
  fi
  if [ -f "$MARKER" ]; then
    say "found a stale or half-started cluster in $DIR; tearing it down first"
    cmd_down
  fi
  [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ] && [ ! -f "$MARKER" ] &&
    die "$DIR exists, is not empty and is not a raysl test cluster (no .raysl-slurm marker)" "choose another RAYSL_SLURM_DIR or remove $DIR"
  check_subnet
  need_tools
  if [ "$GEN" = 24.11 ]; then
    ROOT="$("$HERE/slurm-rootfs.sh" 24.11)" || die "no Slurm 24.11 root filesystem" "see the slurm-rootfs output above"
    HOSTS_FILE="$ROOT/etc/hosts"
  else
    install_packages
  fi
  # Validate everything before leaving any state behind.
  local nodes=() expanded
  expanded="$(expand_nodes "$NODES")" || die "cannot expand RAYSL_SLURM_NODES='$NODES'" "use a Slurm hostlist such as node[1-4] or gpu-[001-016]"
  mapfile -t nodes <<<"$expanded"
  [ -n "$expanded" ] || die "RAYSL_SLURM_NODES='$NODES' names no nodes" "use a Slurm hostlist such as node[1-4]"
  [ "${#nodes[@]}" -le 244 ] || die "at most 244 nodes fit in $SUBNET.0/24 (received ${#nodes[@]})" "use fewer nodes"
  port_in_use 127.0.0.1 "$CTLD_PORT" && die "port $CTLD_PORT (slurmctld) is already in use (stale cluster?)" "run '$0 down' or set RAYSL_SLURM_CTLD_PORT"
  # Leftovers of this very cluster (same directory, so same names) whose state is gone: remove them.
  net_down
  local taken; taken="$(subnet_taken_by)"
  [ -z "$taken" ] || die "subnet $SUBNET.0/24 is already in use on this host (${taken//$'\n'/, })" \
    "another test cluster or network uses it: set RAYSL_SLURM_SUBNET to a /24 that 'ip -4 addr' and 'ip -4 route' do not show"
  local n; for n in "${nodes[@]}"; do
    hosts_has_node "$n" && die "node name $n is already in /etc/hosts (another cluster?)" "choose other node names (RAYSL_SLURM_NODES)"
  done
  local proctrack; proctrack="$(pick_proctrack)"
  mkdir -p "$DIR"
  : >"$MARKER"
  printf '%s\n' "$GEN" >"$DIR/slurm-generation"
  [ -n "$ROOT" ] && printf '%s\n' "$ROOT" >"$DIR/rootfs"
  printf '%s\n' "${nodes[@]}" >"$DIR/nodes"
  printf '%s\n' "$NODES" >"$DIR/nodelist"
  printf '%s\n' "$proctrack" >"$DIR/proctrack"
  login_addr >"$DIR/login-addr"
  write_config "$proctrack" "${nodes[@]}"
  write_node_files "${nodes[@]}"
  : >"$NETFILE"
  net_up_bridge
  local i; for ((i = 1; i <= ${#nodes[@]}; i++)); do net_up_node "$i" "${nodes[i - 1]}"; done
  [ -n "$ROOT" ] && rootfs_up
  hosts_add_block "${nodes[@]}"
  start_munge
  start_daemons "${nodes[@]}"
  wait_idle "${#nodes[@]}"
  say "up in $(elapsed "$t0") s"
  print_where
}

# ---------------------------------------------------------------- down
ancestors() {
  local p=$$
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    printf '%s\n' "$p"
    p="$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)"
  done
}

# Job tasks carry SLURM_CONF=<this lab> AND SLURMD_NODENAME; a shell that merely sourced env.sh has
# only the first, so requiring both spares bystanders. slurmstepd carries our SLURM_CONF too.
lab_job_pids() {
  local mine; mine="$(ancestors)"
  local env_dir pid envs comm
  for env_dir in /proc/[0-9]*; do
    pid="${env_dir#/proc/}"
    grep -qxF "$pid" <<<"$mine" && continue
    envs="$(tr '\0' '\n' 2>/dev/null <"$env_dir/environ")" || continue
    grep -qxF "SLURM_CONF=$CONF" <<<"$envs" || continue
    comm="$(cat "$env_dir/comm" 2>/dev/null || true)"
    if grep -q '^SLURMD_NODENAME=' <<<"$envs" || [ "$comm" = slurmstepd ]; then printf '%s\n' "$pid"; fi
  done
}

stop_pids() {
  # TERM, wait (polling, bounded), then KILL what is left.
  local pids=("$@") p live until i=0
  [ "${#pids[@]}" -gt 0 ] || return 0
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  until="$(deadline_in 5)"
  while :; do
    live=()
    for p in "${pids[@]}"; do alive "$p" && live+=("$p"); done
    [ "${#live[@]}" -eq 0 ] && return 0
    deadline_passed "$until" && break
    backoff "$i"; i=$((i + 1))
  done
  say "force-killing: ${live[*]}"
  for p in "${live[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

cmd_down() {
  need_root
  [ "$INSIDE" -eq 0 ] || die "'down' runs on the host, not inside the Slurm 24.11 root filesystem" "run $0 --slurm 24.11 down on the host"
  local t0; t0="$(now)"
  if [ ! -f "$MARKER" ]; then
    hosts_remove_block
    net_down
    rootfs_down
    say "nothing to do: no raysl test cluster in $DIR"
    return 0
  fi
  local ctld; ctld="$(pid_of "$DIR/run/slurmctld.pid")"
  if alive "$ctld"; then
    # Cancel first so slurmd/slurmstepd tear down the jobs' processes through proctrack.
    local jobs; jobs="$(SLURM_CONF="$CONF" sl squeue -h -o '%i' 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086 # job ids, one per word
      SLURM_CONF="$CONF" sl scancel --full $jobs 2>/dev/null || true
      local until i=0; until="$(deadline_in 5)"
      while [ -n "$(SLURM_CONF="$CONF" sl squeue -h -o '%i' 2>/dev/null || true)" ] && ! deadline_passed "$until"; do
        backoff "$i"; i=$((i + 1))
      done
    fi
  fi
  # Leftover job processes first (escaped tasks keep a job COMPLETING and slurmd busy), then daemons.
  local pids=() n p
  mapfile -t pids < <(lab_job_pids)
  [ "${#pids[@]}" -gt 0 ] && say "killing leftover job processes: ${pids[*]}"
  stop_pids "${pids[@]}"
  pids=()
  while read -r n; do
    p="$(pid_of "$DIR/run/slurmd-$n.pid")"; alive "$p" && pids+=("$p")
  done < <(lab_nodes || true)
  alive "$ctld" && pids+=("$ctld")
  stop_pids "${pids[@]}"
  p="$(pid_of "$DIR/run/munged.started")"
  # munged is shared by every lab on this host: stop it only if we started it and no other
  # slurmctld (another lab) still needs it.
  if [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null || true)" = munged ]; then
    # 24.11's munged is the root filesystem's own: nobody else uses it
    if [ -z "$ROOT" ] && live_slurmctld; then say "leaving munged running: another Slurm controller uses it"; else stop_pids "$p"; fi
  fi
  local d
  # 24.11's slurmds had raysl-<id>/ of each hierarchy as their whole cgroup tree
  if [ -n "$ROOT" ]; then
    for d in /sys/fs/cgroup/"raysl-$CID" /sys/fs/cgroup/*/"raysl-$CID"; do
      [ -d "$d" ] || continue
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || say "could not remove cgroup $d"
    done
  fi
  while read -r n; do
    [ -n "$ROOT" ] && break
    for d in /sys/fs/cgroup/*/"slurm_$n"; do
      [ -d "$d" ] || continue
      # rmdir deepest first; cgroup dirs cannot be removed with rm -r
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || say "could not remove cgroup $d"
    done
  done < <(lab_nodes || true)
  net_down
  hosts_remove_block
  rootfs_down
  rm -rf -- "$DIR"
  say "down in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- status
cmd_status() {
  if [ ! -f "$MARKER" ] || ! alive "$(pid_of "$DIR/run/slurmctld.pid")"; then
    printf 'raysl test cluster: not running (%s)\n' "$DIR"
    exit 1
  fi
  print_where
  SLURM_CONF="$CONF" sl sinfo -N -o '%N %o %t %c %m %G' || die "slurmctld does not answer" "see $DIR/log/slurmctld.log; or run '$0 down' and '$0 up'"
  [ "$(usable_count)" -eq "$(lab_nodes | wc -l)" ] || exit 1
}

# The path other code passes to `nsenter --net=<path>` to run something on a node's network.
cmd_netns() {
  local n="${1:-}" p
  [ -n "$n" ] || die "netns needs a node name" "e.g. $0 netns node2"
  p="$(awk -v n="$n" '$1 == n { print $3 }' "$NETFILE" 2>/dev/null || true)"
  [ -n "$p" ] && [ -e "$p" ] || die "no network namespace for node '$n' in the cluster in $DIR" "see '$0 status'"
  printf '%s\n' "$p"
}

# Runs a command with this cluster's client commands and SLURM_CONF: for 24.11 chrooted into the
# root filesystem (in the current directory, which must be reachable there), for 22.05 right here.
cmd_enter() {
  [ $# -gt 0 ] || die "enter needs a command" "e.g. $0 --slurm 24.11 enter 'sinfo'"
  [ -f "$MARKER" ] || die "no raysl test cluster in $DIR" "start it: $0 --slurm $GEN up"
  export SLURM_CONF="$CONF" RAYSL_SLURM_DIR="$DIR"
  [ -n "$ROOT" ] || exec bash -c "$@"
  [ -d "$ROOT$PWD" ] && mountpoint -q "$ROOT/proc" || die "$PWD is not reachable inside $ROOT (or the cluster is not up)" "cd to the project, /tmp or /root; or rerun $0 --slurm 24.11 up"
  exec chroot "$ROOT" /usr/bin/env --chdir="$PWD" bash -c "$@"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  netns) cmd_netns "${2:-}" ;;
  enter) shift; cmd_enter "$@" ;;
  *) die "expected one of up | down | status | netns <node> | enter <command> (received '${1:-}')" "e.g. scripts/dev-slurm.sh up" ;;
esac
