#!/usr/bin/env python3
"""A fake course-discovery catalog for benchmarking coursenav.catalog_sync().

Serves GET /api/v1/course_runs/?page_size=N&exclude_utm=1[&page=P] as Django
REST Framework pages ({"count", "next", "previous", "results"}) of --runs
course runs, generated on the fly (Python 3 standard library only). Keys are
--key-format with {i} = 0..runs-1, so the benchmark can create matching
overviews with generate_series. Listens on 127.0.0.1 only and runs until
killed; writes its port to --port-file once it is listening.

    python3 tests/bench/fake_catalog.py --runs 100000 --port-file /tmp/catalog.port &
"""
import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, required=True, help="how many course runs the catalog lists")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--key-format", default="course-v1:BenchOrg+C{i}+2030", help="course run key, {i} = 0..runs-1")
    p.add_argument("--label", default="a", help="goes into every marketing URL; change it to make a sync update")
    p.add_argument("--token", default="bench-token", help="the bearer token the catalog accepts")
    return p.parse_args()


ARGS = parse_args()


def course_run(i):
    return {
        "key": ARGS.key_format.format(i=i),
        "title": f"Benchmark course {i}",
        "status": "published",
        "start": "2030-01-01T00:00:00Z",
        "end": None,
        "marketing_url": f"https://www.example.org/course/c{i}-{ARGS.label}",
        "eligible_for_financial_aid": i % 3 != 0,
        "content_language": "en-us",
    }


# Every run encoded once at start, so serving a page is a join, not a dump:
# the benchmark should time coursenav, not this server's JSON encoder.
ENCODED_RUNS = []


class Catalog(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real catalog behind a proxy
    # Headers and body go out in two writes; with Nagle on, the body waits for
    # the client's delayed ACK (40 ms a page) and the benchmark would time that.
    disable_nagle_algorithm = True

    def send_json(self, status, document):
        self.send_body(status, json.dumps(document).encode())

    def send_body(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if self.headers.get("Authorization") != f"Bearer {ARGS.token}":
            return self.send_json(401, {"detail": "Authentication credentials were not provided."})
        if url.path != "/api/v1/course_runs/":
            return self.send_json(404, {"detail": "Not found."})
        size = min(int(query.get("page_size", "20")), 1000)
        page = int(query.get("page", "1"))
        start = (page - 1) * size
        end = min(start + size, ARGS.runs)
        host = f"http://127.0.0.1:{self.server.server_port}"

        def link(p):
            return f"{host}/api/v1/course_runs/?exclude_utm=1&page={p}&page_size={size}"

        links = json.dumps({
            "count": ARGS.runs,
            "next": link(page + 1) if end < ARGS.runs else None,
            "previous": link(page - 1) if page > 1 else None,
        })
        results = ",".join(ENCODED_RUNS[max(start, 0):end])
        self.send_body(200, f'{links[:-1]}, "results": [{results}]}}'.encode())

    def log_message(self, *args):
        pass  # a benchmark prints its own figures


def main():
    ENCODED_RUNS.extend(json.dumps(course_run(i)) for i in range(ARGS.runs))
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Catalog)
    port = server.server_port
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    print(f"fake catalog: {ARGS.runs} course runs on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
