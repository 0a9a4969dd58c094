// Drawing a rectangle, polygon or circle on the map for a drawn-area query.
//
// Rectangle and circle: press and drag. Polygon: click each corner, double-click (or
// click the first corner) to finish. Escape cancels. The finished shape is passed to
// `onShape` as the body of POST /api/v1/query: { bbox }, { geometry } or { circle }.

const EARTH_RADIUS_M = 6371008.8;

function circleRing(center, radiusM, steps = 64) {
  const [lon, lat] = center;
  const ring = [];
  for (let i = 0; i <= steps; i += 1) {
    const a = (2 * Math.PI * i) / steps;
    const dLat = (radiusM * Math.cos(a)) / EARTH_RADIUS_M;
    const dLon = (radiusM * Math.sin(a)) / (EARTH_RADIUS_M * Math.cos((lat * Math.PI) / 180));
    ring.push([lon + (dLon * 180) / Math.PI, lat + (dLat * 180) / Math.PI]);
  }
  return ring;
}

/** Metres between two lon/lat points (haversine). */
export function metres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h));
}

export class Draw {
  constructor(map, onShape) {
    this.map = map;
    this.onShape = onShape;
    this.tool = null;
    this.points = [];
    this.dragStart = null;
    this.shape = null;
    map.on('mousedown', (e) => this.down(e));
    map.on('mousemove', (e) => this.move(e));
    map.on('mouseup', (e) => this.up(e));
    map.on('click', (e) => this.click(e));
    map.on('dblclick', (e) => this.finishPolygon(e));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.tool) this.setTool(null);
    });
  }

  get active() {
    return this.tool !== null;
  }

  setTool(tool) {
    this.tool = tool;
    this.points = [];
    this.dragStart = null;
    const drawing = tool !== null;
    this.map.getCanvas().style.cursor = drawing ? 'crosshair' : '';
    if (drawing) {
      this.map.dragPan.disable();
      this.map.doubleClickZoom.disable();
    } else {
      this.map.dragPan.enable();
      this.map.doubleClickZoom.enable();
    }
    document.querySelectorAll('#draw [data-tool]').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.tool === tool));
    });
    const hint = document.getElementById('draw-hint');
    hint.hidden = !drawing;
    hint.textContent = {
      rectangle: '按住鼠标拖出矩形',
      circle: '从圆心按住鼠标拖出半径',
      polygon: '单击添加顶点，双击结束；Esc 取消',
    }[tool] || '';
  }

  clear() {
    this.shape = null;
    this.polygon = null;
    this.render([]);
    this.setTool(null);
  }

  render(features) {
    this.map.getSource('draw').setData({ type: 'FeatureCollection', features });
  }

  polygonFeature(ring) {
    return { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } };
  }

  down(e) {
    if (this.tool !== 'rectangle' && this.tool !== 'circle') return;
    e.preventDefault();
    this.dragStart = [e.lngLat.lng, e.lngLat.lat];
  }

  move(e) {
    if (!this.tool) return;
    const here = [e.lngLat.lng, e.lngLat.lat];
    if (this.dragStart && this.tool === 'rectangle') {
      const [a, b] = [this.dragStart, here];
      this.render([this.polygonFeature([[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]], [a[0], a[1]]])]);
    } else if (this.dragStart && this.tool === 'circle') {
      this.render([this.polygonFeature(circleRing(this.dragStart, metres(this.dragStart, here)))]);
    } else if (this.tool === 'polygon' && this.points.length) {
      const ring = [...this.points, here, this.points[0]];
      this.render([this.polygonFeature(ring)]);
    }
  }

  up(e) {
    if (!this.dragStart) return;
    const a = this.dragStart;
    const b = [e.lngLat.lng, e.lngLat.lat];
    this.dragStart = null;
    let body;
    let ring;
    if (this.tool === 'rectangle') {
      const bbox = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
      if (bbox[0] === bbox[2] || bbox[1] === bbox[3]) return;
      body = { bbox };
      ring = [[bbox[0], bbox[1]], [bbox[2], bbox[1]], [bbox[2], bbox[3]], [bbox[0], bbox[3]], [bbox[0], bbox[1]]];
    } else {
      const radius = metres(a, b);
      if (radius < 1) return;
      body = { circle: { center: a, radius_m: Math.round(radius) } };
      ring = circleRing(a, radius);
    }
    this.finish(body, ring);
  }

  click(e) {
    if (this.tool !== 'polygon') return;
    const here = [e.lngLat.lng, e.lngLat.lat];
    if (this.points.length >= 3) {
      const first = this.map.project(this.points[0]);
      if (Math.hypot(first.x - e.point.x, first.y - e.point.y) < 8) {
        this.finishPolygon(e);
        return;
      }
    }
    this.points.push(here);
  }

  finishPolygon(e) {
    if (this.tool !== 'polygon') return;
    if (e && e.preventDefault) e.preventDefault();
    // A double-click also fired two clicks: drop the repeated last corner.
    const pts = this.points.filter((p, i, all) => i === 0 || p[0] !== all[i - 1][0] || p[1] !== all[i - 1][1]);
    if (pts.length < 3) return;
    const ring = [...pts, pts[0]];
    this.finish({ geometry: { type: 'Polygon', coordinates: [ring] } }, ring);
  }

  finish(body, ring) {
    this.shape = body;
    // The outline as a GeoJSON polygon, whatever was drawn: the planner takes it as its area.
    this.polygon = { type: 'Polygon', coordinates: [ring] };
    this.render([this.polygonFeature(ring)]);
    this.setTool(null);
    this.onShape(body);
  }
}
