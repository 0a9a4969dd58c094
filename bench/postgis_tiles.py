"""Boundary tiles of paicha against PostGIS's ST_AsMVT on the same data (issue 20).

Run by bench/postgis.sh, which starts both servers. Loads the areas `paicha export
areas` wrote, with the figures paicha's /api/v1/stats gives (the very values its
tiles carry) as columns, into PostGIS (Web Mercator, GiST index), then requests every
tile of the list from both, one after the other (who goes first alternates), once
per indicator set: all indicators, one, two. Each (tile, set) is asked once, so
paicha's finished-tile cache never answers; from the second set on, its cached tile
geometry does. Prints tiles/s (sequential, one client each), p50/p99/max and the
features per tile compared. Standard library and Debian's python3-psycopg2 only.
"""

import argparse
import glob
import http.client
import json
import statistics
import sys
import time
import urllib.parse

import psycopg2


def varint(buf, i):
    """A protobuf varint at i: its value and the index after it."""
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """The (field number, wire type, payload) of a protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def feature_count(tile):
    """Features over all layers of a vector tile (Tile.layers = 3, Layer.features = 2)."""
    return sum(
        sum(1 for n, _, _ in fields(layer) if n == 2)
        for n, _, layer in fields(tile)
        if n == 3
    )


def quantile(ms, q):
    ms = sorted(ms)
    return ms[round((len(ms) - 1) * q)]


class Paicha:
    def __init__(self, base, token):
        url = urllib.parse.urlparse(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path):
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
        return body

    def json(self, path):
        return json.loads(self.get(path))


def columns(indicators):
    for ind in indicators:
        yield f"{ind}_count", "bigint"
        yield f"{ind}_denominator", "bigint"
        yield f"{ind}_rate", "double precision"
        yield f"{ind}_class", "bigint"


def load(cur, paicha, layer, level, geojson_path):
    """The layer's table: code, name, households, every indicator's four columns and
    the geometry in Web Mercator; returns the indicator ids in catalog order."""
    stats = paicha.json(f"/api/v1/stats?level={level}")
    ids = [i["id"] for i in stats["indicators"]]
    rows = {r["code"]: r for r in stats["rows"]}
    cols = list(columns(ids))
    cur.execute(f'DROP TABLE IF EXISTS {layer}')
    cur.execute(
        f'CREATE TABLE {layer} (code text, name text, households bigint, '
        + "".join(f'"{c}" {t}, ' for c, t in cols)
        + "geom geometry(MultiPolygon, 3857))"
    )
    with open(geojson_path, encoding="utf-8") as f:
        fc = json.load(f)
    names = ", ".join(f'"{c}"' for c, _ in cols)
    marks = ", ".join("%s" for _ in cols)
    for feature in fc["features"]:
        code = feature["properties"]["code"]
        row = rows.get(code)
        values = []
        for ind in ids:
            cell = (row or {}).get("values", {}).get(ind) or {}
            values += [cell.get("count"), cell.get("denominator"), cell.get("rate"), cell.get("class")]
        cur.execute(
            f"INSERT INTO {layer} (code, name, households, {names}, geom) VALUES "
            f"(%s, %s, %s, {marks}, ST_Multi(ST_Transform(ST_SetSRID("
            "ST_GeomFromGeoJSON(%s), 4326), 3857)))",
            [code, feature["properties"].get("name"), row and row["households"]]
            + values
            + [json.dumps(feature["geometry"])],
        )
    cur.execute(f"CREATE INDEX ON {layer} USING gist (geom)")
    cur.execute(f"ANALYZE {layer}")
    return ids


def prepare(cur, name, layer, ids):
    """A prepared tile query with the properties of `ids`, as paicha writes them."""
    props = ", ".join(f'"{c}"' for c, _ in columns(ids))
    cur.execute(
        f"PREPARE {name}(int, int, int) AS "
        f"SELECT ST_AsMVT(q, '{layer}', 4096, 'geom') FROM ("
        f"  SELECT code, name, households, {props}, "
        "   ST_AsMVTGeom(geom, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom"
        f"  FROM {layer} WHERE geom && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)"
        ") q WHERE q.geom IS NOT NULL"
    )


def cpu_ns(pid):
    """CPU time of each thread of a process so far, in nanoseconds, by thread
    (schedstat's first field: exact, where /proc/PID/stat counts in 10 ms ticks)."""
    threads = {}
    for task in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(task) as f:
                threads[task] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between the listing and the read
    return threads


def cpu_spent(before, after):
    """Nanoseconds spent between two readings by the threads alive at the second (a
    thread that ended meanwhile, an idle pool thread let go, is left out rather than
    subtracted)."""
    return sum(ns - before.get(task, 0) for task, ns in after.items())


def summary(side, ms, sizes):
    total = sum(ms) / 1000
    return (
        f"  {side:8} {len(ms) / total:8.0f} tiles/s   p50 {quantile(ms, 0.5):7.2f} ms   "
        f"p99 {quantile(ms, 0.99):7.2f} ms   max {max(ms):7.2f} ms   "
        f"mean {statistics.mean(sizes) / 1024:6.1f} KB"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paicha", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--pg", required=True)
    ap.add_argument("--tiles", required=True, help="village tile paths, one a line")
    ap.add_argument("--areas", required=True, help="layer=level=file.geojson, comma-separated")
    ap.add_argument("--label", default="")
    ap.add_argument("--paicha-pid", type=int, help="paicha's process, to read its CPU time")
    ap.add_argument("--json", help="append the figures here as JSON lines")
    args = ap.parse_args()

    paicha = Paicha(args.paicha, args.token)
    pg = psycopg2.connect(args.pg)
    pg.autocommit = True
    cur = pg.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    cur.execute("SELECT postgis_full_version()")
    print("PostGIS:", cur.fetchone()[0].split(" ")[1], file=sys.stderr)
    cur.execute("SELECT pg_backend_pid()")
    pids = {"paicha": args.paicha_pid, "postgis": cur.fetchone()[0]}

    tiles = []
    with open(args.tiles) as f:
        for line in f:
            z, x, y = line.strip().split("/")[-3:]
            tiles.append((int(z), int(x), int(y.split(".")[0])))
    assert all(y > 0 for _, _, y in tiles), "the list holds a tile at y = 0"

    for spec in args.areas.split(","):
        layer, level, path = spec.split("=")
        ids = load(cur, paicha, layer, level, path)
        sets = [("all", None, ids)]
        picks = [i for i in ("any_problem", "dropout", "unsafe_housing") if i in ids] or ids[:3]
        sets.append(("one", picks[:1], picks[:1]))
        sets.append(("two", picks[1:3] or picks[:1], picks[1:3] or picks[:1]))
        print(f"{args.label} {layer}: {len(tiles)} tiles z{min(t[0] for t in tiles)}-"
              f"{max(t[0] for t in tiles)}, {len(ids)} indicators")
        for k, (set_name, asked, cols) in enumerate(sets):
            prepare(cur, f"t_{layer}_{k}", layer, cols)
            query = "" if asked is None else "?indicators=" + ",".join(asked)
            times = {"paicha": [], "postgis": []}
            sizes = {"paicha": [], "postgis": []}
            differ = []
            cpu = {s: cpu_ns(pid) for s, pid in pids.items() if pid}
            for n, (z, x, y) in enumerate(tiles):
                got = {}

                def run_paicha():
                    t = time.perf_counter()
                    body = paicha.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt{query}")
                    times["paicha"].append((time.perf_counter() - t) * 1000)
                    got["paicha"] = body

                def run_postgis():
                    t = time.perf_counter()
                    cur.execute(f"EXECUTE t_{layer}_{k}(%s, %s, %s)", (z, x, y))
                    body = bytes(cur.fetchone()[0] or b"")
                    times["postgis"].append((time.perf_counter() - t) * 1000)
                    got["postgis"] = body

                order = (run_paicha, run_postgis) if n % 2 == 0 else (run_postgis, run_paicha)
                for run in order:
                    run()
                counts = {s: feature_count(b) for s, b in got.items()}
                for s, b in got.items():
                    sizes[s].append(len(b))
                if counts["paicha"] != counts["postgis"]:
                    differ.append(f"{z}/{x}/{y}: {counts['paicha']} vs {counts['postgis']}")
            cpu = {s: cpu_spent(before, cpu_ns(pids[s])) / 1e3 / len(tiles) for s, before in cpu.items()}
            print(f" indicators: {set_name}{' (' + ','.join(asked) + ')' if asked else ''}")
            for side in ("paicha", "postgis"):
                print(summary(side, times[side], sizes[side]))
            ratio = (sum(times["postgis"]) / sum(times["paicha"]))
            if len(cpu) == 2:
                # What each server spends a tile, client aside: its capacity is one tile
                # per that many microseconds on each core.
                print(f"  server CPU a tile: paicha {cpu['paicha']:.0f} us, postgis "
                      f"{cpu['postgis']:.0f} us: {cpu['postgis'] / cpu['paicha']:.2f}x "
                      "tiles per CPU-second")
            p99 = quantile(times["paicha"], 0.99) <= quantile(times["postgis"], 0.99)
            print(f"  paicha/postgis tiles/s: {ratio:.2f}x; p99 at most PostGIS's: {p99}; "
                  f"features equal in {len(tiles) - len(differ)} of {len(tiles)} tiles"
                  + (f" (differ: {'; '.join(differ[:5])})" if differ else ""))
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps({
                        "label": args.label, "layer": layer, "indicators": set_name,
                        "tiles": len(tiles),
                        **{f"{s}_tiles_per_s": len(times[s]) / (sum(times[s]) / 1000) for s in times},
                        **{f"{s}_p50_ms": quantile(times[s], 0.5) for s in times},
                        **{f"{s}_p99_ms": quantile(times[s], 0.99) for s in times},
                        "feature_counts_differ": len(differ),
                        **{f"{s}_cpu_us_per_tile": v for s, v in cpu.items()},
                    }) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
