"""examples/custom_loader/data_server.py — a small news data source on loopback.

Stands in for the seed's S3 bucket: it serves one CSV file per day,
``day_YYYY-MM-DD.csv``, from 2026-01-01 to 2026-03-31, and answers only
requests carrying ``Authorization: Bearer <token>``. The token is read from
the first line of stdin (never from argv or the environment), so the
example passes it the way assay passes secrets to loaders.

    GET /files                -> JSON list of file names
    GET /files/day_...csv     -> the CSV

It prints ``PORT <n> PID <pid>`` once listening and serves until killed
(or until stdin closes, when started with --exit-on-eof).
"""
import datetime as dt
import http.server
import io
import json
import random
import sys
import threading

FIRST_DAY = dt.date(2026, 1, 1)
DAYS = 90
SOURCES = ["wire", "blog", "paper", "tv"]
CATEGORIES = ["politics", "sports", "business", "science", "culture"]


def day_csv(day):
    """A deterministic day of news items: one row per article."""
    rnd = random.Random(day.toordinal())
    out = io.StringIO()
    out.write("timestamp,source,category,word_count,sentiment,clickbait_score,label\n")
    # Later days drift: more blog posts, more clickbait.
    drift = (day - FIRST_DAY).days / DAYS
    for i in range(40):
        source = rnd.choices(SOURCES, weights=[4, 1 + 4 * drift, 3, 2])[0]
        category = rnd.choice(CATEGORIES)
        words = int(rnd.lognormvariate(6, 0.5))
        sentiment = round(rnd.gauss(0.1, 0.4), 4)
        clickbait = round(min(1.0, max(0.0, rnd.betavariate(2, 5) + 0.3 * drift)), 4)
        label = int(clickbait + rnd.gauss(0, 0.15) > 0.45)
        stamp = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=13 * i)
        out.write("%s,%s,%s,%d,%s,%s,%d\n" % (stamp.isoformat(), source, category, words,
                                             sentiment, clickbait, label))
    return out.getvalue().encode()


def main():
    token = sys.stdin.readline().strip()
    if not token:
        sys.exit("data_server: give the token on the first line of stdin")
    names = ["day_%s.csv" % (FIRST_DAY + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            if self.headers.get("Authorization") != "Bearer " + token:
                self.send_error(401, "a valid bearer token is required")
                return
            if self.path == "/files":
                body = json.dumps(names).encode()
            elif self.path.startswith("/files/") and self.path[7:] in names:
                body = day_csv(dt.date.fromisoformat(self.path[7 + 4:7 + 14]))
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("PORT %d PID %d" % (server.server_address[1], __import__("os").getpid()), flush=True)
    if "--exit-on-eof" in sys.argv:
        def watch():
            sys.stdin.read()
            server.shutdown()
        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
