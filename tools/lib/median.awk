# median(LIST): the median of the space-separated numbers in LIST, or "null"
# when it is empty. Shared by the benchmark summaries (awk -f median.awk -f ...).
function median(list,    a, n, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return "null"
    for (i = 2; i <= n; i++) {
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
    }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
