#!/usr/bin/env bash
# tools/kvmm-net's DHCP server and foreign bridges end to end, in a private
# network namespace (so nothing on the host's own network changes): `up
# --dhcp` runs dnsmasq bound to the bridge with libvirt's options, bad
# ranges are refused before anything changes, `down` stops dnsmasq; a bridge
# it did not create takes a tap, and `down` removes the tap and leaves the
# bridge. A real lease, listed by `leases`, is the default guest's in
# net_test.cc. Needs root, the tun and bridge modules (the nested host has
# them) and dnsmasq (dnsmasq-base).
set -euo pipefail
kvmm_net=$(cd -- "$(dirname -- "$0")/../../tools" && pwd)/kvmm-net

# Bounded, but generously: under TCG in a busy nested host each
# tools/kvmm-net call takes up to 10 s, and this test makes about 15.
if [[ ${1:-} != --inside ]]; then
    exec timeout 600 unshare --net -- "$0" --inside
fi

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_has() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

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

# A default range follows the prefix and leaves the bridge's address out.
"$kvmm_net" up --bridge kvmmt2 --address 169.254.103.1/28 --dhcp
expect_has "$("$kvmm_net" status --bridge kvmmt2)" "range 169.254.103.2-169.254.103.14/28"

"$kvmm_net" down --bridge kvmmt1
"$kvmm_net" down --bridge kvmmt2
! kill -0 "$pid" 2>/dev/null || [[ $(cut -d' ' -f3 "/proc/$pid/stat") == Z ]] ||
    fail "down left dnsmasq $pid running"
[[ ! -e $state ]] || fail "down left $state"
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
