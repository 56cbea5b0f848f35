#!/usr/bin/env bash
# tools/kvmm-net end to end, in a private network namespace (so nothing on
# the host's own network changes): bridge with VLAN filtering, taps in VLANs,
# NAT rules through a veth "uplink" (checked as rules only: nothing is sent),
# DHCP with dnsmasq and one real lease taken by busybox udhcpc from a second
# private namespace over a veth, a tap on a bridge it did not create, and
# `down` removing exactly what `up` and `tap` created. Needs root, the tun,
# bridge and veth modules (the nested host has them), dnsmasq and busybox.
set -euo pipefail
kvmm_net=$(cd -- "$(dirname -- "$0")/../../tools" && pwd)/kvmm-net

if [[ ${1:-} != --inside ]]; then
    exec timeout 240 unshare --net -- "$0" --inside
fi
# The DHCP client's namespace: a process that sleeps in its own one, ended
# however the test ends.
client_pid=
trap '[[ -z $client_pid ]] || kill "$client_pid" 2>/dev/null || true' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_has() { grep -qF -- "$2" <<<"$1" || fail "expected '$2' in: $1"; }

ip link add kvmmt-up type veth peer name kvmmt-peer
echo 0 >/proc/sys/net/ipv4/ip_forward

"$kvmm_net" up --bridge kvmmt0 --address 169.254.100.1/24 --nat kvmmt-up
"$kvmm_net" tap kvmmt-a --bridge kvmmt0 --vlan 10
"$kvmm_net" tap kvmmt-b --bridge kvmmt0 --vlan 20
"$kvmm_net" tap kvmmt-c --bridge kvmmt0

# ip(8), not /sys/class/net: sysfs still shows the namespace it was mounted in.
expect_has "$(ip -d link show dev kvmmt0)" "vlan_filtering 1"
expect_has "$(ip -4 addr show dev kvmmt0)" "169.254.100.1/24"
for tap in kvmmt-a kvmmt-b kvmmt-c; do
    expect_has "$(ip -d link show dev $tap)" "master kvmmt0"
    expect_has "$(ip -d link show dev $tap)" "tun type tap"
done
vlans=$(bridge -d vlan show)
expect_has "$(grep -A1 '^kvmmt-a' <<<"$vlans")" "10 PVID Egress Untagged"
expect_has "$(grep -A1 '^kvmmt-b' <<<"$vlans")" "20 PVID Egress Untagged"
expect_has "$(grep -A1 '^kvmmt-c' <<<"$vlans")" "1 PVID Egress Untagged"
! grep -A1 '^kvmmt-a' <<<"$vlans" | grep -q ' 1 PVID' || fail "kvmmt-a is still in VLAN 1"

if command -v nft >/dev/null; then
    rules=$(nft list table ip kvmm_net_kvmmt0)
    expect_has "$rules" 'ip saddr 169.254.100.0/24 oifname "kvmmt-up" masquerade'
    expect_has "$rules" 'iifname "kvmmt-up" oifname "kvmmt0" ct state established,related accept'
fi
[[ $(cat /proc/sys/net/ipv4/ip_forward) == 1 ]] || fail "--nat did not turn on forwarding"

# Refusals: a name it did not create, a bad VLAN.
out=$("$kvmm_net" tap kvmmt-up --bridge kvmmt0 2>&1) && fail "took over kvmmt-up"
expect_has "$out" "kvmmt-up exists and was not created by tools/kvmm-net"
out=$("$kvmm_net" tap kvmmt-d --bridge kvmmt0 --vlan 4095 2>&1) && fail "took VLAN 4095"
expect_has "$out" "--vlan 4095 is not a VLAN ID"

"$kvmm_net" down --bridge kvmmt0
for dev in kvmmt0 kvmmt-a kvmmt-b kvmmt-c; do
    ! ip link show dev "$dev" >/dev/null 2>&1 || fail "$dev is still there after down"
done
ip link show dev kvmmt-up >/dev/null || fail "down removed the uplink it did not create"
if command -v nft >/dev/null; then
    ! nft list table ip kvmm_net_kvmmt0 >/dev/null 2>&1 || fail "NAT table still there after down"
fi
[[ $(cat /proc/sys/net/ipv4/ip_forward) == 0 ]] || fail "ip_forward not restored"

# --- DHCP ---------------------------------------------------------------------
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
unshare --net sleep 120 &
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
ip link delete dev kvmmt-dc
out=$("$kvmm_net" leases --bridge kvmmt1 2>&1) && fail "leases without a DHCP server"
expect_has "$out" "no DHCP server from tools/kvmm-net on kvmmt1"

# --- a bridge it did not create -----------------------------------------------
ip link add kvmmt-f type bridge
ip addr add 169.254.104.1/24 dev kvmmt-f
ip link set dev kvmmt-f up
out=$("$kvmm_net" up --bridge kvmmt-f 2>&1) && fail "up took over a bridge it did not create"
expect_has "$out" "kvmmt-f exists and was not created by tools/kvmm-net"
out=$("$kvmm_net" tap kvmmt-e --bridge kvmmt-up 2>&1) && fail "put a tap on a veth"
expect_has "$out" "--bridge kvmmt-up is not a bridge"
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

echo "kvmm-net script test: ok"
