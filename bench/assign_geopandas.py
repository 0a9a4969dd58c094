"""Peer for `paicha bench assign`: GeoPandas sjoin (predicate "within") on the files
that `paicha bench assign --export-dir DIR` wrote. Prints one JSON line.

Reading the files is not timed; building the spatial index and the join are, as
paicha's figure includes its index build.
"""
import json
import os
import sys
import time

import geopandas as gpd
import pandas as pd


def main(folder: str) -> None:
    villages = gpd.read_file(os.path.join(folder, "villages.geojson"))
    table = pd.read_csv(os.path.join(folder, "points.csv"))
    points = gpd.GeoDataFrame(
        table[["id"]], geometry=gpd.points_from_xy(table.lon, table.lat), crs=villages.crs
    )
    start = time.perf_counter()
    joined = gpd.sjoin(points, villages[["code", "geometry"]], predicate="within", how="inner")
    seconds = time.perf_counter() - start
    print(json.dumps({
        "peer": "geopandas",
        "geopandas": gpd.__version__,
        "households": len(points),
        "inside": int(joined["id"].nunique()),
        "sjoin_s": seconds,
        "points_per_s": len(points) / seconds,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
