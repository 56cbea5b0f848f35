#!/usr/bin/env bash
# tools/kvmm-net end to end, in a private network namespace (so nothing on
# the host's own network changes): bridge with VLAN filtering, taps in VLANs,
# NAT rules through a veth "uplink" (checked as rules only: nothing is sent),
# and `down` removing exactly what `up` and `tap` created. Needs root and the
# tun, bridge and veth modules (the nested host has them).
# kvmm_net_dhcp_test.sh covers DHCP and bridges it did not create.
set -euo pipefail
kvmm_net=$(cd -- "$(dirname -- "$0")/../../tools" && pwd)/kvmm-net

if [[ ${1:-} != --inside ]]; then
    exec timeout 240 unshare --net -- "$0" --inside
fi

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

echo "kvmm-net script test: ok"
