#!/usr/bin/env bash
# raysl's test cluster: a real Slurm (Debian's slurmctld + one `slurmd -N <node>` per node) on this
# one host. Every node gets its own loopback address (127.0.1.<i>) and its own UTS hostname, so
# agents that bind "the address Slurm uses for the node" never collide, and `hostname` in a step
# prints the node name like on a real cluster. Fake GPUs are GRES character devices (= /dev/null).
#
#   scripts/dev-slurm.sh up       install if needed, start, wait until every node is idle (idempotent)
#   scripts/dev-slurm.sh down     cancel jobs, stop only what `up` started, remove its state
#   scripts/dev-slurm.sh status   nodes and their states, or "not running" (exit 1)
#
# Facts this relies on: /work/shared/reference/slurm-on-one-host.md (Slurm 22.05, Debian 12).
set -euo pipefail

DIR="${RAYSL_SLURM_DIR:-/tmp/raysl-slurm}"
NODES="${RAYSL_SLURM_NODES:-node[1-4]}"
CPUS="${RAYSL_SLURM_CPUS:-4}"
GPUS="${RAYSL_SLURM_GPUS:-4}"
MEM="${RAYSL_SLURM_MEM:-4096}"
CTLD_PORT="${RAYSL_SLURM_CTLD_PORT:-16817}"
PORT_BASE="${RAYSL_SLURM_PORT_BASE:-17001}"
ADDR_NET="${RAYSL_SLURM_ADDR_NET:-127.0.1}"
PROCTRACK="${RAYSL_SLURM_PROCTRACK:-auto}"
KILLWAIT="${RAYSL_SLURM_KILLWAIT:-2}"
WAIT_S="${RAYSL_SLURM_WAIT:-30}"

MARKER="$DIR/.raysl-slurm"
CONF="$DIR/etc/slurm.conf"
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
  [ "$(id -u)" -eq 0 ] || die "must run as root (received uid $(id -u)): it starts slurmctld/slurmd as root, creates fake GPU devices and edits /etc/hosts" \
    "run it with sudo, or as root in the dev container"
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

idle_count() { SLURM_CONF="$CONF" sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l; }
# Nodes busy with someone's jobs are healthy too: a second `up` must never tear down a working cluster.
usable_count() { SLURM_CONF="$CONF" sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 ~ /^(idle|mix|alloc|comp)$/' | wc -l; }

healthy() {
  [ -f "$MARKER" ] && [ -f "$CONF" ] || return 1
  alive "$(pid_of "$DIR/run/slurmctld.pid")" || return 1
  local n count=0
  while read -r n; do
    alive "$(pid_of "$DIR/run/slurmd-$n.pid")" || return 1
    count=$((count + 1))
  done < <(lab_nodes)
  [ "$count" -gt 0 ] && [ "$(usable_count)" -eq "$count" ]
}

print_where() {
  printf 'cluster: %s nodes (%s), %s CPUs / %s GPUs / %s MB each, proctrack %s\n' \
    "$(lab_nodes | wc -l)" "$(cat "$DIR/nodelist")" "$CPUS" "$GPUS" "$MEM" "$(cat "$DIR/proctrack")"
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
      "SlurmctldHost=$ctld_host(127.0.0.1)" \
      "SlurmctldPort=$CTLD_PORT" \
      "SlurmUser=root" "SlurmdUser=root" \
      "AuthType=auth/munge" "CredType=cred/munge" \
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
      "# batch jobs start on the next 1 s scheduler tick instead of after the 3 s default delay" \
      "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0" \
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
        "$n" "$n" "$(node_addr "$i")" "$((PORT_BASE + i - 1))" "$CPUS" "$MEM" "$gres"
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

node_addr() {
  local i="$1"
  [ "$i" -le 254 ] || die "at most 254 nodes fit in $ADDR_NET.0/24 (received node #$i)" "use fewer nodes or set RAYSL_SLURM_ADDR_NET"
  printf '%s.%s\n' "$ADDR_NET" "$i"
}

hosts_remove_block() {
  grep -qxF "$HOSTS_BEGIN" /etc/hosts 2>/dev/null || return 0
  # Rewrite in place: /etc/hosts is often a bind mount that cannot be replaced by rename.
  local kept; kept="$(awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts)"
  printf '%s\n' "$kept" >/etc/hosts
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
  for n in "${nodes[@]}"; do
    # Own UTS namespace: `hostname` in a step prints the node name; slurmd daemonizes itself.
    unshare --uts sh -c 'hostname "$1" && exec slurmd -N "$1"' sh "$n" ||
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
  install_packages
  # Validate everything before leaving any state behind.
  local nodes=() expanded
  expanded="$(expand_nodes "$NODES")" || die "cannot expand RAYSL_SLURM_NODES='$NODES'" "use a Slurm hostlist such as node[1-4] or gpu-[001-016]"
  mapfile -t nodes <<<"$expanded"
  [ -n "$expanded" ] || die "RAYSL_SLURM_NODES='$NODES' names no nodes" "use a Slurm hostlist such as node[1-4]"
  local i p
  port_in_use 127.0.0.1 "$CTLD_PORT" && die "port $CTLD_PORT (slurmctld) is already in use (stale cluster?)" "run '$0 down' or set RAYSL_SLURM_CTLD_PORT"
  for ((i = 1; i <= ${#nodes[@]}; i++)); do
    p=$((PORT_BASE + i - 1))
    port_in_use "$(node_addr "$i")" "$p" && die "port $p (slurmd of ${nodes[i - 1]}) is already in use" "run '$0 down' or set RAYSL_SLURM_PORT_BASE"
  done
  local proctrack; proctrack="$(pick_proctrack)"
  mkdir -p "$DIR"
  : >"$MARKER"
  printf '%s\n' "${nodes[@]}" >"$DIR/nodes"
  printf '%s\n' "$NODES" >"$DIR/nodelist"
  printf '%s\n' "$proctrack" >"$DIR/proctrack"
  write_config "$proctrack" "${nodes[@]}"
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
  SLURM_CONF="$CONF" sinfo -N -o '%N %t %c %m %G' || die "slurmctld does not answer" "see $DIR/log/slurmctld.log; or run '$0 down' and '$0 up'"
  [ "$(usable_count)" -eq "$(lab_nodes | wc -l)" ] || exit 1
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "expected one of up | down | status (received '${1:-}')" "e.g. scripts/dev-slurm.sh up" ;;
esac
