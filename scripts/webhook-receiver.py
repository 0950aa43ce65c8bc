#!/usr/bin/env python3
"""A webhook receiver for delivery drills, on loopback only.

    scripts/webhook-receiver.py --port 8870 --down-for 120 --fail-rate 0.3 \
        --secret-env REDLINE_HOOK_SECRET --log received.jsonl

It refuses connections for the first --down-for seconds (the port is closed),
then answers 500 to --fail-rate of the requests at random and 200 to the rest.
Every request is logged as one JSON line: the X-Redline-* headers, whether the
signature verifies (HMAC-SHA256 of "timestamp.body" with the secret), the
status it answered and the alert. scripts/webhook-drill.sh checks the log.
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--down-for", type=float, default=0.0)
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument("--secret-env", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    secret = os.environ[args.secret_env].encode()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    log = open(args.log, "a", buffering=1)

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            stamp = self.headers.get("X-Redline-Timestamp", "")
            expected = "sha256=" + hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
            signed = hmac.compare_digest(expected, self.headers.get("X-Redline-Signature", ""))
            with lock:
                status = 500 if rng.random() < args.fail_rate else 200
                record = {
                    "t": time.time(),
                    "delivery": self.headers.get("X-Redline-Delivery"),
                    "event": self.headers.get("X-Redline-Event"),
                    "timestamp": stamp,
                    "signature_ok": signed,
                    "status": status,
                    "alert": json.loads(body),
                }
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    time.sleep(args.down_for)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Hook)
    print(f"receiver listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
