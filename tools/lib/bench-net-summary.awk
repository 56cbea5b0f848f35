# Summary of tools/bench-net's runs: a table on stdout and, when the variable
# json is set, a JSON file.
#
# Input, one line per measurement of one boot:
#   round ROUND VMM METRIC VALUE UNIT
# with METRIC guest-to-host, host-to-guest (Mbit/s) or ping-rtt (ms).
# Variables: vmms ("kvmm qemu kvmm-vhost qemu-vhost"), rounds, seconds, pings,
# vhost (1 when the vhost=on runs were made), json (file name or empty).
#
# A VMM's figure is the median of its rounds. Ratios are kvmm over QEMU in
# each pairing (kvmm/qemu; kvmm-vhost/qemu-vhost): above 1 is better for
# throughput, below 1 for ping-rtt.

# median() comes from median.awk, loaded first.
function ratio(k, q) { return (k == "null" || q == "null" || q + 0 == 0) ? "null" : k / q }
function shown(x, fmt) { return x == "null" ? "n/a" : sprintf(fmt, x) }
function json_number(x) { return x == "null" ? "null" : sprintf("%.3f", x) }

$1 == "round" && NF == 6 {
    values[$3, $4] = values[$3, $4] " " $5
    unit[$4] = $6
    runs[++nruns] = sprintf("{\"round\": %d, \"vmm\": \"%s\", \"metric\": \"%s\", \"value\": %s, \"unit\": \"%s\"}",
                            $2, $3, $4, $5 + 0, $6)
}

END {
    nv = split(vmms, vmm, " ")
    nm = split("guest-to-host host-to-guest ping-rtt", metric, " ")
    unit["guest-to-host"] = unit["host-to-guest"] = "Mbit/s"
    unit["ping-rtt"] = "ms"
    for (v = 1; v <= nv; v++)
        for (m = 1; m <= nm; m++) med[vmm[v], metric[m]] = median(values[vmm[v], metric[m]])
    # Pairings: kvmm with QEMU, each VMM's vhost=on run with the other's.
    np = 0
    for (v = 1; v <= nv; v++)
        if (vmm[v] ~ /^kvmm/) { k = vmm[v]; q = k; sub(/^kvmm/, "qemu", q); pk[++np] = k; pq[np] = q }

    printf "\nvirtio-net over a tap, iperf3 %d s each way, %d pings, %d round(s), medians:\n",
           seconds, pings, rounds
    header = sprintf("  %-22s", "metric")
    for (v = 1; v <= nv; v++) header = header sprintf(" %11s", vmm[v])
    for (p = 1; p <= np; p++) header = header sprintf(" %22s", pk[p] "/" pq[p])
    print header
    for (m = 1; m <= nm; m++) {
        fmt = metric[m] == "ping-rtt" ? "%.3f" : "%.1f"
        line = sprintf("  %-22s", metric[m] " (" unit[metric[m]] ")")
        for (v = 1; v <= nv; v++) line = line sprintf(" %11s", shown(med[vmm[v], metric[m]], fmt))
        for (p = 1; p <= np; p++)
            line = line sprintf(" %22s", shown(ratio(med[pk[p], metric[m]], med[pq[p], metric[m]]), "%.2f"))
        print line
    }
    print "  (throughput: higher is better; ping-rtt: lower is better.)"
    if (!vhost) print "  (vhost=on not measured: no /dev/vhost-net or --no-vhost.)"

    if (json == "") exit 0
    printf "{\n  \"rounds\": %d,\n  \"seconds\": %d,\n  \"pings\": %d,\n", rounds, seconds, pings > json
    printf "  \"units\": {\"guest-to-host\": \"Mbit/s\", \"host-to-guest\": \"Mbit/s\", \"ping-rtt\": \"ms\"},\n" > json
    printf "  \"medians\": {" > json
    for (v = 1; v <= nv; v++) {
        printf "%s\n    \"%s\": {", (v > 1 ? "," : ""), vmm[v] > json
        for (m = 1; m <= nm; m++)
            printf "%s\"%s\": %s", (m > 1 ? ", " : ""), metric[m], json_number(med[vmm[v], metric[m]]) > json
        printf "}" > json
    }
    printf "\n  },\n  \"ratios\": {" > json
    for (p = 1; p <= np; p++) {
        printf "%s\n    \"%s/%s\": {", (p > 1 ? "," : ""), pk[p], pq[p] > json
        for (m = 1; m <= nm; m++)
            printf "%s\"%s\": %s", (m > 1 ? ", " : ""), metric[m],
                   json_number(ratio(med[pk[p], metric[m]], med[pq[p], metric[m]])) > json
        printf "}" > json
    }
    printf "\n  },\n  \"runs\": [" > json
    for (r = 1; r <= nruns; r++) printf "%s\n    %s", (r > 1 ? "," : ""), runs[r] > json
    printf "\n  ],\n  \"vhost_measured\": %s\n}\n",
           (vhost ? "true" : "false") > json
    if (close(json) != 0) exit 1
}
