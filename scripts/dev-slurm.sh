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
#
# Facts this relies on: /work/shared/reference/slurm-on-one-host.md (Slurm 22.05, Debian 12) and
# /work/shared/reference/slurm-netns.md (the network namespace design).
set -euo pipefail

DIR="${RAYSL_SLURM_DIR:-/tmp/raysl-slurm}"
NODES="${RAYSL_SLURM_NODES:-node[1-4]}"
CPUS="${RAYSL_SLURM_CPUS:-4}"
GPUS="${RAYSL_SLURM_GPUS:-4}"
MEM="${RAYSL_SLURM_MEM:-4096}"
CTLD_PORT="${RAYSL_SLURM_CTLD_PORT:-16817}"
# One slurmd port for every node (each node has its own port space). RAYSL_SLURM_PORT_BASE is the
# older name, from when every node needed a port of its own.
SLURMD_PORT="${RAYSL_SLURM_SLURMD_PORT:-${RAYSL_SLURM_PORT_BASE:-17001}}"
SUBNET="${RAYSL_SLURM_SUBNET:-10.213.0}"
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
  for t in ip nsenter unshare mount sha256sum; do
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

# ---------------------------------------------------------------- helpers on a lab
expand_nodes() {
  # scontrol needs a config even to expand a hostlist; a two-line stub contacts no controller.
  local stub rc=0; stub="$(mktemp)"
  printf 'ClusterName=stub\nSlurmctldHost=%s(127.0.0.1)\n' "$(hostname -s)" >"$stub"
  SLURM_CONF="$stub" scontrol show hostnames "$1" || rc=$?
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
n="$1" dir="$2"
if [ "$(readlink /proc/self/ns/uts)" = "$3" ] || [ "$(readlink /proc/self/ns/mnt)" = "$4" ] || [ "$(readlink /proc/self/ns/net)" = "$5" ]; then
  echo "node-init $n: not inside new uts/mnt/net namespaces; refusing to change the hostname or mount anything" >&2
  exit 1
fi
hostname "$n"
# Fresh sysfs: /sys/class/net lists only lo and eth0 of this node (NCCL and others read it).
mount -t sysfs sysfs /sys
if grep -q "^cgroup2 \. " "$dir/net/cgroup-mounts"; then
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
else
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
  while read -r fs d opts; do
    case "$fs" in
      cgroup) mkdir -p "/sys/fs/cgroup/$d"; mount -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$d" ;;
      cgroup2) mkdir -p "/sys/fs/cgroup/$d"; mount -t cgroup2 cgroup2 "/sys/fs/cgroup/$d" ;;
      link) ln -s "$opts" "/sys/fs/cgroup/$d" ;;
    esac
  done <"$dir/net/cgroup-mounts"
fi
mount --bind "$dir/net/hosts" /etc/hosts
mount --bind "$dir/net/resolv.conf" /etc/resolv.conf
exec slurmd -N "$n"'

idle_count() { SLURM_CONF="$CONF" sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l; }
# Nodes busy with someone's jobs are healthy too: a second `up` must never tear down a working cluster.
# plnd: idle but planned for a pending job by the backfill scheduler (a pending multi-node or het
# job); a busy cluster, not a broken one (counting it unusable made test runs restart the cluster)
usable_count() { SLURM_CONF="$CONF" sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 ~ /^(idle|mix|alloc|comp|plnd)$/' | wc -l; }

healthy() {
  [ -f "$MARKER" ] && [ -f "$CONF" ] && [ -e "/sys/class/net/$BRIDGE" ] || return 1
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
      "# start only in a backfill cycle: every 2 s instead of 30" \
      "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=2" \
      "# node CPUs/memory come from this file, not from the (small) host" \
      "SlurmdParameters=config_overrides" \
      "ReturnToService=2" \
      "KillWait=$KILLWAIT" \
      "InactiveLimit=0" \
      "MinJobAge=300" \
      "MessageTimeout=10"
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
    printf '%s\n' "CgroupPlugin=cgroup/v1" "CgroupAutomount=no" "ConstrainCores=no" "ConstrainRAMSpace=no" "ConstrainDevices=no" >"$DIR/etc/cgroup.conf"
  fi
  # Character devices, not files: only then does Slurm set CUDA_VISIBLE_DEVICES (reference §3.6).
  local g
  for ((g = 0; g < GPUS; g++)); do
    [ -c "$DIR/dev/nvidia$g" ] || mknod -m 666 "$DIR/dev/nvidia$g" c 1 3
  done
  printf 'export SLURM_CONF=%q\n' "$CONF" >"$DIR/env.sh"
}

hosts_remove_block() {
  grep -qxF "$HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
  # Rewrite in place: /etc/hosts is often a bind mount that cannot be replaced by rename.
  local kept; kept="$(awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts)"
  printf '%s\n' "$kept" >/etc/hosts
}

# A name this cluster is about to use, already in /etc/hosts outside its own block.
hosts_has_node() {
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" -v n="$1" '
    $0 == b { skip = 1; next } $0 == e { skip = 0; next }
    !skip && $1 !~ /^#/ { for (i = 2; i <= NF; i++) if ($i == n) found = 1 }
    END { exit !found }' /etc/hosts 2>/dev/null
}

hosts_add_block() {
  hosts_remove_block
  {
    printf '%s\n' "$HOSTS_BEGIN"
    local i=0 n
    for n in "$@"; do i=$((i + 1)); printf '%s %s\n' "$(node_addr "$i")" "$n"; done
    printf '%s\n' "$HOSTS_END"
  } >>/etc/hosts
}

# ---------------------------------------------------------------- daemons
start_munge() {
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
  slurmctld -i || die "slurmctld failed to start" "see $DIR/log/slurmctld.log"
  local n
  local uts mnt net; uts="$(ns_inode uts)"; mnt="$(ns_inode mnt)"; net="$(ns_inode net)"
  for n in "${nodes[@]}"; do
    # Only the network namespace is entered (`ip netns exec` would remount /sys and lose the
    # cgroup hierarchies); UTS and mount namespaces are new. slurmd daemonizes itself.
    nsenter --net="/run/netns/$(netns_name "$n")" -- unshare --uts --mount --propagation slave -- \
      bash -c "$NODE_INIT" node-init "$n" "$DIR" "$uts" "$mnt" "$net" ||
      die "slurmd -N $n failed to start" "see $DIR/log/slurmd-$n.log"
  done
}

wait_idle() {
  local want="$1" until; until="$(deadline_in "$WAIT_S")"; local i=0
  until [ "$(idle_count)" -eq "$want" ]; do
    if deadline_passed "$until"; then
      SLURM_CONF="$CONF" sinfo -N -o '%N %t %E' >&2 || true
      die "only $(idle_count) of $want nodes became idle within ${WAIT_S}s" "see $DIR/log/slurmctld.log and $DIR/log/slurmd-<node>.log"
    fi
    backoff "$i"; i=$((i + 1))
  done
}

cmd_up() {
  need_root
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
  install_packages
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
  printf '%s\n' "${nodes[@]}" >"$DIR/nodes"
  printf '%s\n' "$NODES" >"$DIR/nodelist"
  printf '%s\n' "$proctrack" >"$DIR/proctrack"
  login_addr >"$DIR/login-addr"
  write_config "$proctrack" "${nodes[@]}"
  write_node_files "${nodes[@]}"
  : >"$NETFILE"
  net_up_bridge
  local i; for ((i = 1; i <= ${#nodes[@]}; i++)); do net_up_node "$i" "${nodes[i - 1]}"; done
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
  local t0; t0="$(now)"
  if [ ! -f "$MARKER" ]; then
    hosts_remove_block
    net_down
    say "nothing to do: no raysl test cluster in $DIR"
    return 0
  fi
  local ctld; ctld="$(pid_of "$DIR/run/slurmctld.pid")"
  if alive "$ctld"; then
    # Cancel first so slurmd/slurmstepd tear down the jobs' processes through proctrack.
    local jobs; jobs="$(SLURM_CONF="$CONF" squeue -h -o '%i' 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086 # job ids, one per word
      SLURM_CONF="$CONF" scancel --full $jobs 2>/dev/null || true
      local until i=0; until="$(deadline_in 5)"
      while [ -n "$(SLURM_CONF="$CONF" squeue -h -o '%i' 2>/dev/null || true)" ] && ! deadline_passed "$until"; do
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
    if live_slurmctld; then say "leaving munged running: another Slurm controller uses it"; else stop_pids "$p"; fi
  fi
  local d
  while read -r n; do
    for d in /sys/fs/cgroup/*/"slurm_$n"; do
      [ -d "$d" ] || continue
      # rmdir deepest first; cgroup dirs cannot be removed with rm -r
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || say "could not remove cgroup $d"
    done
  done < <(lab_nodes || true)
  net_down
  hosts_remove_block
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
  SLURM_CONF="$CONF" sinfo -N -o '%N %o %t %c %m %G' || die "slurmctld does not answer" "see $DIR/log/slurmctld.log; or run '$0 down' and '$0 up'"
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

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  netns) cmd_netns "${2:-}" ;;
  *) die "expected one of up | down | status | netns <node> (received '${1:-}')" "e.g. scripts/dev-slurm.sh up" ;;
esac
