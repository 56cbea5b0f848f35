#!/usr/bin/env bash
# tools/kvmm-net's DHCP server and foreign bridges end to end, in a private
# network namespace (so nothing on the host's own network changes): `up
# --dhcp` runs dnsmasq bound to the bridge with libvirt's options, bad
# ranges are refused before anything changes, busybox udhcpc in a second
# private namespace takes a real lease over a veth and `leases` lists it,
# `down` stops dnsmasq; a bridge it did not create takes a tap, and `down`
# removes the tap and leaves the bridge. Needs root, the tun, bridge and veth
# modules (the nested host has them), dnsmasq (dnsmasq-base) and busybox.
set -euo pipefail
kvmm_net=$(cd -- "$(dirname -- "$0")/../../tools" && pwd)/kvmm-net

# Bounded, but generously: under TCG in a busy nested host each
# tools/kvmm-net call takes up to 10 s, and this test makes about 20 (it
# took 314 s on a loaded 2-core machine).
if [[ ${1:-} != --inside ]]; then
    exec timeout 600 unshare --net -- "$0" --inside
fi

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_has() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

# The DHCP client's namespace: a process that sleeps in its own one, ended
# however the test ends.
client_pid=
trap '[[ -z $client_pid ]] || kill "$client_pid" 2>/dev/null || true' EXIT

# --- DHCP ----------------------------------------------------------------------
state=/run/kvmm-net/kvmmt1
"$kvmm_net" down --bridge kvmmt1 >/dev/null 2>&1  # Leftovers of a killed run.
out=$("$kvmm_net" up --bridge kvmmt1 --address 169.254.101.1/24 --dhcp 169.254.102.10-169.254.102.20 2>&1) &&
    fail "took a range outside the subnet"
expect_has "$out" "is not inside the bridge's subnet 169.254.101.0/24"
! ip link show dev kvmmt1 >/dev/null 2>&1 || fail "a refused --dhcp left the bridge behind"
out=$("$kvmm_net" up --bridge kvmmt1 --address 169.254.101.1/24 --dhcp 169.254.101.1-169.254.101.9 2>&1) &&
    fail "took a range holding the bridge's address"
expect_has "$out" "holds the bridge's own address"
out=$("$kvmm_net" up --bridge kvmmt1 --address 169.254.101.1/24 --dhcp 169.254.101.30-169.254.101.20 2>&1) && fail "took FIRST > LAST"
expect_has "$out" "--dhcp 169.254.101.30-169.254.101.20 is not inside"

"$kvmm_net" up --bridge kvmmt1 --address 169.254.101.1/24 --dhcp 169.254.101.50-169.254.101.60
pid=$(cat "$state/dnsmasq.pid")
[[ -d /proc/$pid ]] || fail "no dnsmasq process $pid from the pid file"
args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
for arg in --interface=kvmmt1 --bind-interfaces --except-interface=lo --port=0 --no-resolv \
    --no-hosts --dhcp-authoritative "--dhcp-leasefile=$state/dnsmasq.leases" \
    --dhcp-range=169.254.101.50,169.254.101.60,255.255.255.0; do
    expect_has "$args" "$arg"
done
expect_has "$("$kvmm_net" status --bridge kvmmt1)" "dhcp dnsmasq pid $pid, range 169.254.101.50-169.254.101.60/24"
out=$("$kvmm_net" leases --bridge kvmmt1)
expect_has "$out" "MAC address"
[[ $(wc -l <<<"$out") == 1 ]] || fail "leases lists leases before any client asked: $out"
# A second up finds it running and starts no other.
"$kvmm_net" up --bridge kvmmt1 --dhcp
[[ $(cat "$state/dnsmasq.pid") == "$pid" ]] || fail "a second up --dhcp replaced dnsmasq"

# A real exchange: one end of a veth on the bridge, busybox udhcpc on the
# other end in a namespace of its own.
ip link add kvmmt-dc type veth peer name kvmmt-dp
ip link set dev kvmmt-dc master kvmmt1
ip link set dev kvmmt-dc up
unshare --net sleep 600 &
client_pid=$!
for ((i = 0; i < 50; i++)); do
    [[ $(readlink "/proc/$client_pid/ns/net") != "$(readlink /proc/self/ns/net)" ]] && break
    sleep 0.1
done
ip link set dev kvmmt-dp netns "$client_pid"
client_mac=$(nsenter --net="/proc/$client_pid/ns/net" ip -o link show dev kvmmt-dp |
    sed -n 's/.*link\/ether \([^ ]*\).*/\1/p')
[[ -n $client_mac ]] || fail "no MAC for kvmmt-dp"
nsenter --net="/proc/$client_pid/ns/net" ip link set dev kvmmt-dp up
# The hook only reports what it got; -q: quit once bound, -n: give up after
# the bounded tries.
hook=$(mktemp)
cat >"$hook" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && echo "bound ip=$ip router=$router" || true
EOF
chmod 755 "$hook"
out=$(nsenter --net="/proc/$client_pid/ns/net" busybox udhcpc -i kvmmt-dp -s "$hook" -q -n -t 5 -T 2 \
    -x hostname:kvmmt-client 2>&1) || fail "udhcpc got no lease: $out; $(cat "$state/dnsmasq.log")"
rm -f -- "$hook"
expect_has "$out" "bound ip=169.254.101.5"
expect_has "$out" "router=169.254.101.1"
leased=$(sed -n 's/^bound ip=\([^ ]*\).*/\1/p' <<<"$out")
out=$("$kvmm_net" leases --bridge kvmmt1)
expect_has "$out" "$client_mac"
expect_has "$(grep -F "$client_mac" <<<"$out")" "$leased/24"
expect_has "$(grep -F "$client_mac" <<<"$out")" "kvmmt-client"

# A default range follows the prefix and leaves the bridge's address out.
"$kvmm_net" up --bridge kvmmt2 --address 169.254.103.1/28 --dhcp
expect_has "$("$kvmm_net" status --bridge kvmmt2)" "range 169.254.103.2-169.254.103.14/28"

"$kvmm_net" down --bridge kvmmt1
"$kvmm_net" down --bridge kvmmt2
! kill -0 "$pid" 2>/dev/null || [[ $(cut -d' ' -f3 "/proc/$pid/stat") == Z ]] ||
    fail "down left dnsmasq $pid running"
[[ ! -e $state ]] || fail "down left $state"
# The veth pair, unless it went with the client's namespace.
ip link delete dev kvmmt-dc 2>/dev/null || true
out=$("$kvmm_net" leases --bridge kvmmt1 2>&1) && fail "leases without a DHCP server"
expect_has "$out" "no DHCP server from tools/kvmm-net on kvmmt1"

# --- a bridge it did not create (as libvirt's virbr0) -------------------------
ip link add kvmmt-f type bridge
ip addr add 169.254.104.1/24 dev kvmmt-f
ip link set dev kvmmt-f up
out=$("$kvmm_net" up --bridge kvmmt-f 2>&1) && fail "up took over a bridge it did not create"
expect_has "$out" "kvmmt-f exists and was not created by tools/kvmm-net"
out=$("$kvmm_net" tap kvmmt-e --bridge lo 2>&1) && fail "put a tap on lo"
expect_has "$out" "--bridge lo is not a bridge"
out=$("$kvmm_net" tap kvmmt-e --bridge kvmmt-f --vlan 10 2>&1) && fail "took a VLAN without filtering"
expect_has "$out" "--vlan needs VLAN filtering on kvmmt-f"
"$kvmm_net" tap kvmmt-e --bridge kvmmt-f
expect_has "$(ip -d link show dev kvmmt-e)" "master kvmmt-f"
expect_has "$("$kvmm_net" status --bridge kvmmt-f)" "kvmmt-e"
"$kvmm_net" down --bridge kvmmt-f
! ip link show dev kvmmt-e >/dev/null 2>&1 || fail "down left the tap on kvmmt-f"
ip link show dev kvmmt-f >/dev/null 2>&1 || fail "down removed the bridge it did not create"
expect_has "$(ip -4 addr show dev kvmmt-f)" "169.254.104.1/24"
ip link delete dev kvmmt-f

echo "kvmm-net DHCP test: ok"
