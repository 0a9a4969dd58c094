// The start page: county outline, township and village boundaries drawn as SVG from
// the API, and the township table. No third-party code: the full map arrives with
// the web app (MapLibre, from npm).
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
const HEIGHT = 700;

async function getJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// An equirectangular projection fitted to the features' bounding box; at a county's
// size the distortion is invisible, and it needs no library.
function projection(features) {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) {
    for (const polygon of f.geometry.coordinates) {
      for (const [x, y] of polygon[0]) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x);
        minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      }
    }
  }
  const k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
  const scale = Math.min((WIDTH - 20) / ((maxX - minX) * k), (HEIGHT - 20) / (maxY - minY));
  const dx = (WIDTH - (maxX - minX) * k * scale) / 2;
  const dy = (HEIGHT - (maxY - minY) * scale) / 2;
  return ([x, y]) => [dx + (x - minX) * k * scale, HEIGHT - dy - (y - minY) * scale];
}

function pathData(geometry, project) {
  return geometry.coordinates
    .map((polygon) => polygon
      .map((ring) => "M" + ring.map((p) => project(p).map((v) => v.toFixed(1)).join(",")).join("L") + "Z")
      .join(""))
    .join("");
}

function addPath(svg, d, cls) {
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("class", cls);
  svg.appendChild(path);
  return path;
}

// Location-quality counts and the systematic-offset verdicts.
function renderQuality(quality) {
  const tbody = document.querySelector("#quality tbody");
  for (const flag of quality.flags) {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = `api/v1/quality/households?flag=${flag.code}`;
    link.textContent = flag.label;
    name.appendChild(link);
    const count = document.createElement("td");
    count.className = "num";
    count.textContent = flag.count.toLocaleString("zh-CN");
    row.append(name, count);
    tbody.appendChild(row);
  }
  const names = { gcj02: "GCJ-02（高德/腾讯）", bd09: "BD-09（百度）" };
  const townships = quality.offsets.filter((o) => o.level === "township");
  document.getElementById("offsets").textContent = townships.length
    ? townships.map((o) => `${o.name}的坐标整体按${names[o.offset]}记录：按原坐标仅${(o.share_declared * 100).toFixed(1)}%的农户落在登记村内，换算后为${(o[o.offset === "gcj02" ? "share_as_gcj02" : "share_as_bd09"] * 100).toFixed(1)}%。`).join(" ")
    : "未发现乡镇整体坐标系偏移。";
}

async function main() {
  const status = document.getElementById("status");
  try {
    const [health, townships, villages, quality] = await Promise.all([
      getJson("health"),
      getJson("api/v1/areas.geojson?level=township"),
      getJson("api/v1/areas.geojson?level=village"),
      getJson("api/v1/quality"),
    ]);
    renderQuality(quality);
    status.textContent = `服务正常 · 农户 ${health.households.toLocaleString("zh-CN")} 户 · 数据版本 ${health.data_version}`;

    const svg = document.getElementById("map");
    const project = projection(townships.features);
    const hover = document.getElementById("hover");
    for (const v of villages.features) {
      const p = v.properties;
      const path = addPath(svg, pathData(v.geometry, project), p.poverty_village ? "village poverty" : "village");
      path.dataset.code = p.code;
      path.addEventListener("mouseenter", () => {
        hover.textContent = `${p.name}（${p.code}）· ${p.households.toLocaleString("zh-CN")} 户 · ${p.area_km2} km²${p.poverty_village ? " · 贫困村" : ""}`;
      });
    }
    for (const t of townships.features) {
      addPath(svg, pathData(t.geometry, project), "township");
    }
    for (const t of townships.features) {
      const box = svg.querySelector(`path[data-code^="${t.properties.code}"]`);
      if (!box) continue;
      // Label at the centre of the township's bounding box in screen space.
      const xs = [], ys = [];
      for (const polygon of t.geometry.coordinates) for (const pt of polygon[0]) {
        const [x, y] = project(pt); xs.push(x); ys.push(y);
      }
      const label = document.createElementNS(SVG_NS, "text");
      label.setAttribute("x", ((Math.min(...xs) + Math.max(...xs)) / 2).toFixed(1));
      label.setAttribute("y", ((Math.min(...ys) + Math.max(...ys)) / 2).toFixed(1));
      label.textContent = t.properties.name;
      svg.appendChild(label);
    }

    const tbody = document.querySelector("#townships tbody");
    for (const t of townships.features) {
      const p = t.properties;
      const row = document.createElement("tr");
      for (const [text, cls] of [[p.name, ""], [p.code, ""], [p.households.toLocaleString("zh-CN"), "num"], [p.area_km2.toFixed(1), "num"]]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (cls) cell.className = cls;
        row.appendChild(cell);
      }
      tbody.appendChild(row);
    }
  } catch (error) {
    status.textContent = `无法加载数据：${error.message}`;
  }
}

main();
