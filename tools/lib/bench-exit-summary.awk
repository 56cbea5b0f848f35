# Summary of tools/bench-exit-compare's runs: a table on stdout and, when the
# variable json is set, a JSON file (schema in docs/measuring.md, "Comparing with QEMU").
#
# Input, one line per successful boot (the guest program's result line after
# the VMM name and the round):
#   VMM ROUND tsc_khz=K iterations=N cpuid=C out_0x520=C out_0x530=C
# Variables: ports ("0x520 0x530"), rounds, iterations, nested (yes|no), cpu,
# kernel, json (file name or empty).
#
# Each run's cycles become microseconds with that run's own TSC rate; a VMM's
# figure is the median over its runs of the guest's per-run medians, and its
# share is the outb median minus the cpuid median.

# median() comes from median.awk, loaded first.
function us(cycles, khz) { return cycles / khz * 1000 }
function json_string(s) { gsub(/["\\]/, "\\\\&", s); return "\"" s "\"" }
function json_number(x) { return x == "null" ? "null" : sprintf("%.3f", x) }
function shown(x) { return x == "null" ? "n/a" : sprintf("%.2f", x) }
# {"out_0x520": X, ...} from table[key, "out_" port] (or the share).
function json_ports(table, key, what,    p, s) {
    s = ""
    for (p = 1; p <= nports; p++) {
        s = s (p > 1 ? ", " : "") "\"out_" port[p] "\": " json_number(table[key, what port[p]])
    }
    return "{" s "}"
}

BEGIN {
    nports = split(ports, port, " ")
    nvmm = split("kvmm qemu-microvm", vmm, " ")
}

{
    v = $1; round = $2
    delete f
    for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["tsc_khz"] + 0 <= 0) next  # No usable TSC rate: cannot convert.
    runs[v]++
    run = sprintf("{\"round\": %d, \"tsc_khz\": %d, \"cpuid_cycles\": %d",
                  round, f["tsc_khz"], f["cpuid"])
    cpuid_us = us(f["cpuid"], f["tsc_khz"])
    samples[v, "cpuid"] = samples[v, "cpuid"] " " cpuid_us
    for (p = 1; p <= nports; p++) {
        key = "out_" port[p]
        out_us = us(f[key], f["tsc_khz"])
        samples[v, key] = samples[v, key] " " out_us
        round_share[v, round, p] = out_us - cpuid_us
        run = run sprintf(", \"%s_cycles\": %d", key, f[key])
    }
    has_round[v, round] = 1
    runs_json[v] = runs_json[v] (runs[v] > 1 ? ", " : "") run "}"
}

END {
    printf "\nVM exit cost seen by a guest user program, microseconds, median over runs\n"
    printf "(%d rounds x %d exits per kind; nested: %s; share = outb - cpuid)\n\n",
        rounds, iterations, nested
    printf "  %-18s %10s", "VMM (runs)", "cpuid"
    for (p = 1; p <= nports; p++) printf " %10s %10s", "outb " port[p], "share"
    printf "\n"
    for (i = 1; i <= nvmm; i++) {
        v = vmm[i]
        med[v, "cpuid"] = median(samples[v, "cpuid"])
        printf "  %-18s %10.2f", v " (" runs[v] + 0 ")", med[v, "cpuid"]
        for (p = 1; p <= nports; p++) {
            med[v, "out_" port[p]] = median(samples[v, "out_" port[p]])
            med[v, "share_" port[p]] = med[v, "out_" port[p]] - med[v, "cpuid"]
            printf " %10.2f %10.2f", med[v, "out_" port[p]], med[v, "share_" port[p]]
        }
        printf "\n"
    }
    printf "\n"
    for (p = 1; p <= nports; p++) {
        q = med["qemu-microvm", "share_" port[p]]
        ratio["r", "out_" port[p]] = q > 0 ? med["kvmm", "share_" port[p]] / q : "null"
        # Drift between boots reaches 2x nested: the ratio within each round
        # (kvmm and QEMU booted back to back) is the steadier figure.
        per_round = ""
        for (r = 1; r <= rounds; r++) {
            if (has_round["kvmm", r] && has_round["qemu-microvm", r] &&
                round_share["qemu-microvm", r, p] > 0) {
                per_round = per_round " " \
                    round_share["kvmm", r, p] / round_share["qemu-microvm", r, p]
            }
        }
        ratio["m", "out_" port[p]] = median(per_round)
        printf "  outb %s: VMM share kvmm / QEMU microvm = %s (median of per-round ratios: %s)\n",
            port[p], shown(ratio["r", "out_" port[p]]), shown(ratio["m", "out_" port[p]])
    }
    if (json == "") exit 0

    printf "{\n  \"host\": {\"cpu\": %s, \"kernel\": %s, \"nested\": %s},\n",
        json_string(cpu), json_string(kernel), (nested == "yes" ? "true" : "false") > json
    printf "  \"rounds\": %d,\n  \"iterations\": %d,\n  \"ports\": [", rounds, iterations > json
    for (p = 1; p <= nports; p++) printf "%s\"%s\"", (p > 1 ? ", " : ""), port[p] > json
    printf "],\n  \"vmms\": {\n" > json
    for (i = 1; i <= nvmm; i++) {
        v = vmm[i]
        printf "    \"%s\": {\n      \"runs\": [%s],\n", v, runs_json[v] > json
        printf "      \"median_us\": {\"cpuid\": %s, %s},\n", json_number(med[v, "cpuid"]),
            substr(json_ports(med, v, "out_"), 2, length(json_ports(med, v, "out_")) - 2) > json
        printf "      \"share_us\": %s\n    }%s\n", json_ports(med, v, "share_"),
            (i < nvmm ? "," : "") > json
    }
    printf "  },\n  \"share_ratio\": %s,\n", json_ports(ratio, "r", "out_") > json
    printf "  \"share_ratio_median_of_rounds\": %s\n}\n", json_ports(ratio, "m", "out_") > json
    close(json)
}
