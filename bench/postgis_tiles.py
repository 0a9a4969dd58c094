"""Boundary and household tiles of paicha against PostGIS's ST_AsMVT on the same data
(issue 20).

Run by bench/postgis.sh, which starts both servers. Loads the areas `paicha export
areas` wrote, with the figures paicha's /api/v1/stats gives (the very values its
tiles carry) as columns, into PostGIS (Web Mercator, GiST index), then requests every
tile of the list from both, one after the other (who goes first alternates), once
per indicator set: all indicators, one, two. Each (tile, set) is asked once, so
paicha's finished-tile cache never answers; from the second set on, its cached tile
geometry does. Prints tiles/s (sequential, one client each), p50/p99/max and the
features per tile compared.

Households (--households, the CSV `paicha bench tiles --households-out` writes: the
very positions paicha's tiles draw) go into a table with a GiST index, clustered on
it; the household tile list (z12-14) is asked of both in the same alternating way,
PostGIS with `ST_AsMVTGeom(geom, envelope, 4096, 64, true)` over the envelope grown
by the buffer. Checked per tile: a tile paicha draws as points holds the same
households as PostGIS's (by feature id, the household's row; buffer included); a
tile paicha aggregates into cells (over its size cap) counts as many households as
PostGIS finds inside the tile proper (an untimed count query). Standard library and Debian's
python3-psycopg2 only.
"""

import argparse
import glob
import json
import socket
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


def zigzag(v):
    return (v >> 1) ^ -(v & 1)


def packed(buf):
    i, out = 0, []
    while i < len(buf):
        v, i = varint(buf, i)
        out.append(v)
    return out


def point_features(tile):
    """Per feature of a one-layer tile: (id, (x, y) of its first point, properties)."""
    out = []
    for n, _, layer in fields(tile):
        if n != 3:
            continue
        keys, values, feats = [], [], []
        for m, _, v in fields(layer):
            if m == 2:
                feats.append(v)
            elif m == 3:
                keys.append(bytes(v).decode())
            elif m == 4:
                value = None
                for k, _, x in fields(v):
                    value = bytes(x).decode() if k == 1 else x
                values.append(value)
        for f in feats:
            fid, tags, geom = None, [], []
            for m, _, v in fields(f):
                if m == 1:
                    fid = v
                elif m == 2:
                    tags = packed(v)
                elif m == 4:
                    geom = packed(v)
            xy = (zigzag(geom[1]), zigzag(geom[2])) if len(geom) >= 3 else None
            props = {keys[tags[j]]: values[tags[j + 1]] for j in range(0, len(tags), 2)}
            out.append((fid, xy, props))
    return out


def quantile(ms, q):
    ms = sorted(ms)
    return ms[round((len(ms) - 1) * q)]


class Paicha:
    """HTTP/1.1 on one kept-alive socket: the request's bytes written, the head split
    and the body read by its Content-Length. http.client parses every response's
    headers with the email package, about 75 us a request on this machine (155 us
    against 82 us for a small tile) where psycopg2 does its side in C: that cost was
    most of a small tile's round trip and none of the server's."""

    def __init__(self, base, token):
        url = urllib.parse.urlparse(base)
        self.host = f"{url.hostname}:{url.port}"
        self.sock = socket.create_connection((url.hostname, url.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.auth = f"Authorization: Bearer {token}\r\n"
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("paicha closed the connection")
        self.buf += chunk

    def get(self, path, head=None):
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}\r\n".encode())
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        self.buf = self.buf[end + 4:]
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"GET {path}: no Content-Length ({headers})")
        length = int(headers["content-length"])
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        if head is not None:
            head.update(headers)
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


def load_households(cur, path):
    """The households table from the CSV of `paicha bench tiles --households-out`:
    Web Mercator points, GiST index, clustered on it (the peer's best layout)."""
    cur.execute("DROP TABLE IF EXISTS households")
    cur.execute(
        "CREATE TABLE households (id bigint, household_no text, village_code text, "
        "category text, failed text, lon double precision, lat double precision)"
    )
    with open(path, encoding="utf-8") as f:
        cur.copy_expert("COPY households FROM STDIN WITH (FORMAT csv, HEADER true)", f)
    cur.execute(
        "ALTER TABLE households ADD COLUMN geom geometry(Point, 3857);"
        "UPDATE households SET geom = "
        "ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3857) "
        # Positions off the Mercator world (the demo's swapped coordinates put some
        # at latitudes above 90) are in no tile; PROJ refuses to transform them.
        "WHERE lat BETWEEN -85.06 AND 85.06 AND lon BETWEEN -180 AND 180;"
        "CREATE INDEX households_geom ON households USING gist (geom);"
        "CLUSTER households USING households_geom; ANALYZE households"
    )
    cur.execute("SELECT count(*) FROM households")
    return cur.fetchone()[0]


def household_tiles(cur, paicha, tiles, label, json_out):
    """The household layer asked of both in turn; features compared per tile."""
    cur.execute(
        "PREPARE t_households(int, int, int) AS "
        "SELECT ST_AsMVT(q, 'households', 4096, 'geom', 'id') FROM ("
        "  SELECT id, household_no, village_code, category, failed, "
        "   ST_AsMVTGeom(geom, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom"
        # The envelope grown by the buffer and half a unit: ST_AsMVTGeom keeps a point
        # that snaps onto the buffer's edge (up to half a unit beyond it), so the
        # index filter must not leave it out first.
        "  FROM households WHERE geom && ST_TileEnvelope($1, $2, $3, margin => 64.5 / 4096)"
        ") q WHERE q.geom IS NOT NULL"
    )
    # Households in the tile proper, as paicha's cells count them (x from the west
    # edge included, y from the north edge included): untimed, for the check.
    cur.execute(
        "PREPARE inside_households(int, int, int) AS "
        "SELECT count(*) FROM households h, ST_TileEnvelope($1, $2, $3) e "
        "WHERE h.geom && e AND ST_X(h.geom) >= ST_XMin(e) AND ST_X(h.geom) < ST_XMax(e) "
        "AND ST_Y(h.geom) > ST_YMin(e) AND ST_Y(h.geom) <= ST_YMax(e)"
    )
    times = {"paicha": [], "postgis": []}
    sizes = {"paicha": [], "postgis": []}
    point_times = {"paicha": [], "postgis": []}
    differ, cells, features = [], 0, 0
    for n, (z, x, y) in enumerate(tiles):
        got, head = {}, {}

        def run_paicha():
            t = time.perf_counter()
            body = paicha.get(f"/tiles/households/{z}/{x}/{y}.mvt", head)
            times["paicha"].append((time.perf_counter() - t) * 1000)
            got["paicha"] = body

        def run_postgis():
            t = time.perf_counter()
            cur.execute("EXECUTE t_households(%s, %s, %s)", (z, x, y))
            body = bytes(cur.fetchone()[0] or b"")
            times["postgis"].append((time.perf_counter() - t) * 1000)
            got["postgis"] = body

        for run in (run_paicha, run_postgis) if n % 2 == 0 else (run_postgis, run_paicha):
            run()
        for s in got:
            sizes[s].append(len(got[s]))
        theirs = point_features(got["postgis"])
        ours = point_features(got["paicha"])
        if "x-paicha-aggregated" in head:
            cells += 1
            cur.execute("EXECUTE inside_households(%s, %s, %s)", (z, x, y))
            inside = cur.fetchone()[0]
            counted = sum(int(p["households"]) for _, _, p in ours)
            if counted != inside:
                differ.append(f"{z}/{x}/{y} (cells): {counted} vs {inside} inside")
        else:
            for s in times:
                point_times[s].append(times[s][-1])
            features += len(ours)
            a, b = {f[0] for f in ours}, {f[0] for f in theirs}
            if a != b:
                differ.append(f"{z}/{x}/{y}: {len(a)} vs {len(b)} "
                              f"({len(a - b)} only paicha, {len(b - a)} only PostGIS)")
    print(f"{label} households: {len(tiles)} tiles z{min(t[0] for t in tiles)}-"
          f"{max(t[0] for t in tiles)}, {len(tiles) - cells} as points "
          f"({features} features), {cells} over paicha's cap as cells")
    for side in ("paicha", "postgis"):
        print(summary(side, times[side], sizes[side]))
    ratio = sum(times["postgis"]) / sum(times["paicha"])
    pts = sum(point_times["postgis"]) / max(sum(point_times["paicha"]), 1e-9)
    print(f"  paicha/postgis tiles/s: {ratio:.2f}x ({pts:.2f}x on the tiles paicha draws as "
          f"points); p99 at most PostGIS's: "
          f"{quantile(times['paicha'], 0.99) <= quantile(times['postgis'], 0.99)}; "
          f"households equal in {len(tiles) - len(differ)} of {len(tiles)} tiles"
          + (f" (differ: {'; '.join(differ[:5])})" if differ else ""))
    if json_out:
        with open(json_out, "a") as f:
            f.write(json.dumps({
                "label": label, "layer": "households", "tiles": len(tiles), "cells": cells,
                **{f"{s}_tiles_per_s": len(times[s]) / (sum(times[s]) / 1000) for s in times},
                **{f"{s}_p50_ms": quantile(times[s], 0.5) for s in times},
                **{f"{s}_p99_ms": quantile(times[s], 0.99) for s in times},
                "points_ratio": pts, "households_differ": len(differ),
            }) + "\n")
    sys.stdout.flush()


def read_tiles(path):
    tiles = []
    with open(path) as f:
        for line in f:
            z, x, y = line.strip().split("/")[-3:]
            tiles.append((int(z), int(x), int(y.split(".")[0])))
    assert all(y > 0 for _, _, y in tiles), "the list holds a tile at y = 0"
    return tiles


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paicha", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--pg", required=True)
    ap.add_argument("--tiles", help="village tile paths, one a line")
    ap.add_argument("--areas", default="", help="layer=level=file.geojson, comma-separated")
    ap.add_argument("--households", help="the CSV of paicha bench tiles --households-out")
    ap.add_argument("--household-tiles", help="household tile paths (z12-14), one a line")
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

    if args.households:
        t = time.perf_counter()
        n = load_households(cur, args.households)
        print(f"PostGIS: {n} households loaded in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        household_tiles(cur, paicha, read_tiles(args.household_tiles), args.label, args.json)

    tiles = read_tiles(args.tiles) if args.tiles else []
    if tiles:
        # Each client's own floor, for reading the small tiles' latencies: PostGIS's
        # cheapest statement, and a tile paicha has finished and cached.
        # Three indicators: no set of the runs below asks for it, so no timed tile
        # is cached by this.
        floor_path = "/tiles/villages/{}/{}/{}.mvt?indicators=any_problem,dropout,unsafe_housing"
        floor_path = floor_path.format(*tiles[0])
        paicha.get(floor_path)
        floors = {"paicha cached tile": lambda: paicha.get(floor_path),
                  "postgis SELECT 1": lambda: (cur.execute("SELECT 1"), cur.fetchone())}
        for name, ask in floors.items():
            ms = []
            for _ in range(2000):
                t = time.perf_counter()
                ask()
                ms.append((time.perf_counter() - t) * 1000)
            print(f"{args.label} client floor, {name}: p50 {quantile(ms, 0.5) * 1000:.0f} us")
    for spec in filter(None, args.areas.split(",")):
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
