#!/usr/bin/env python3
"""The client side of tools/bench-api: times a running VM's API over its unix
socket and prints the latency of each operation.

  bench_api.py SOCKET ROUNDS [JSON_FILE]

Each round: GET vm.info, PUT vm.pause, PUT vm.resume, each timed from the
connect to the last byte of the answer (the API serves one request per
connection, so a connection is part of what a client pays). PUT vm.pause
answers only once every vCPU is parked and every device is quiet, so its
time bounds pause-to-parked from above. Then PUT vm.power-off ends the VM.

HTTP is http.client's, over an AF_UNIX socket; nothing here parses it.
Prints a table (count, p50, p99, max in microseconds per operation) and,
with JSON_FILE, writes the same figures and every sample there. Exits 1
with one line on stderr when an answer is not the expected one.
"""
import http.client
import json
import socket
import sys
import time

PREFIX = "/api/v1/"


class UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to a unix socket instead of a TCP port."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def fail(message):
    print(f"bench-api: {message}", file=sys.stderr)
    sys.exit(1)


def request(path, method, endpoint, expect):
    """One request on its own connection; its time in nanoseconds."""
    start = time.perf_counter_ns()
    connection = UnixConnection(path)
    try:
        connection.request(method, PREFIX + endpoint)
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        fail(f"{method} {endpoint} failed: {error}; is the VM still running?")
    finally:
        connection.close()
    elapsed = time.perf_counter_ns() - start
    if response.status != expect:
        fail(f"{method} {endpoint} answered {response.status} (expected {expect}): "
             f"{body.decode(errors='replace').strip()}")
    return elapsed, body


def percentile(sorted_values, fraction):
    """Nearest rank: the smallest value with at least `fraction` of the
    samples at or below it."""
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[int(rank) - 1]


def summary(samples):
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "p50_us": percentile(ordered, 0.50) / 1000,
        "p99_us": percentile(ordered, 0.99) / 1000,
        "max_us": ordered[-1] / 1000,
    }


def main(argv):
    if len(argv) not in (3, 4):
        fail("usage: bench_api.py SOCKET ROUNDS [JSON_FILE]")
    path, rounds = argv[1], int(argv[2])
    json_file = argv[3] if len(argv) == 4 else None

    operations = [("GET", "vm.info", 200), ("PUT", "vm.pause", 204), ("PUT", "vm.resume", 204)]
    samples = {endpoint: [] for _, endpoint, _ in operations}
    _, body = request(path, "GET", "vm.info", 200)
    info = json.loads(body)
    if info.get("state") != "running":
        fail(f"the VM is {info.get('state')!r}, not running")
    for _ in range(rounds):
        for method, endpoint, expect in operations:
            elapsed, _ = request(path, method, endpoint, expect)
            samples[endpoint].append(elapsed)
    request(path, "PUT", "vm.power-off", 204)

    figures = {endpoint: summary(values) for endpoint, values in samples.items()}
    print(f"{'operation':<14} {'count':>6} {'p50 us':>9} {'p99 us':>9} {'max us':>9}")
    for method, endpoint, _ in operations:
        f = figures[endpoint]
        print(f"{method + ' ' + endpoint:<14} {f['count']:>6} {f['p50_us']:>9.1f} "
              f"{f['p99_us']:>9.1f} {f['max_us']:>9.1f}")
    if json_file:
        document = {
            "vcpus": len(info.get("vcpus", [])),
            "rounds": rounds,
            "operations": [
                dict(method=method, endpoint=endpoint, **figures[endpoint],
                     samples_ns=samples[endpoint])
                for method, endpoint, _ in operations
            ],
        }
        with open(json_file, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.write("\n")


if __name__ == "__main__":
    main(sys.argv)
