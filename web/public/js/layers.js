// The map's sources and layers: our boundaries with the indicator choropleth, the heat
// map, household points and labels, over a plain background or an offline basemap.

export const ACCENT = '#b3261e';
/** Household points that pass. */
export const PASSING = '#7d8a96';
const BACKGROUND = '#f6f4ef';

/** Stops of the server's heat ramp (src/tiles/heat.rs, ColorBrewer YlOrRd with alpha):
 * the heat legend draws the same colours. */
export const HEAT_STOPS = [
  [0, [255, 255, 178, 0]], [0.15, [254, 217, 118, 110]], [0.35, [253, 141, 60, 170]],
  [0.6, [240, 59, 32, 210]], [0.8, [189, 0, 38, 230]], [1, [128, 0, 38, 240]],
];

/** Tile URLs as the map's workers can fetch them: TileJSON gives paths from the server's
 * root unless the server was told its public address. */
export function absoluteTiles(origin, tiles) {
  return tiles.map((url) => (url.startsWith('/') ? `${origin}${url}` : url));
}

/** The style the map starts with: nothing from the internet. `labels` is the GeoJSON of
 * the areas' label points, names already in the short form officials use. */
export function baseStyle(origin, tilejson, labels) {
  const vector = (tj, minzoom = tj.minzoom) => ({
    type: 'vector',
    tiles: absoluteTiles(origin, tj.tiles),
    bounds: tj.bounds,
    minzoom,
    maxzoom: 16,
  });
  return {
    version: 8,
    // Labels are Chinese and drawn with the browser's CJK font (localIdeographFontFamily);
    // the server answers other glyph ranges with empty sets.
    glyphs: `${origin}/fonts/{fontstack}/{range}.pbf`,
    sources: {
      cities: vector(tilejson.cities),
      counties: vector(tilejson.counties),
      townships: vector(tilejson.townships),
      villages: vector(tilejson.villages),
      // Points only from zoom 12: below it the heat map shows density, and the first
      // view of the county loads no household tiles at all.
      households: vector(tilejson.households, 12),
      labels: { type: 'geojson', data: labels },
      draw: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      plan: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': BACKGROUND } },
      {
        id: 'village-fill', type: 'fill', source: 'villages', 'source-layer': 'villages',
        paint: { 'fill-color': '#d9d9d9', 'fill-opacity': 0.8 },
      },
      {
        id: 'township-fill', type: 'fill', source: 'townships', 'source-layer': 'townships',
        layout: { visibility: 'none' },
        paint: { 'fill-color': '#d9d9d9', 'fill-opacity': 0.8 },
      },
      {
        id: 'county-fill', type: 'fill', source: 'counties', 'source-layer': 'counties',
        layout: { visibility: 'none' },
        paint: { 'fill-color': '#d9d9d9', 'fill-opacity': 0.8 },
      },
      {
        id: 'city-fill', type: 'fill', source: 'cities', 'source-layer': 'cities',
        layout: { visibility: 'none' },
        paint: { 'fill-color': '#d9d9d9', 'fill-opacity': 0.8 },
      },
      {
        id: 'village-line', type: 'line', source: 'villages', 'source-layer': 'villages',
        paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 0.3, 12, 1.2] },
      },
      {
        id: 'township-line', type: 'line', source: 'townships', 'source-layer': 'townships',
        paint: { 'line-color': '#4a4a4a', 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1, 12, 2.2] },
      },
      {
        id: 'county-line', type: 'line', source: 'counties', 'source-layer': 'counties',
        paint: { 'line-color': '#222222', 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 1.2, 12, 3] },
      },
      {
        id: 'city-line', type: 'line', source: 'cities', 'source-layer': 'cities',
        paint: { 'line-color': '#111111', 'line-width': ['interpolate', ['linear'], ['zoom'], 5, 1.6, 12, 4] },
      },
      {
        id: 'selected-city', type: 'line', source: 'cities', 'source-layer': 'cities',
        filter: ['==', ['get', 'code'], ''],
        paint: { 'line-color': ACCENT, 'line-width': 3 },
      },
      {
        id: 'selected-county', type: 'line', source: 'counties', 'source-layer': 'counties',
        filter: ['==', ['get', 'code'], ''],
        paint: { 'line-color': ACCENT, 'line-width': 3 },
      },
      {
        id: 'selected-village', type: 'line', source: 'villages', 'source-layer': 'villages',
        filter: ['==', ['get', 'code'], ''],
        paint: { 'line-color': ACCENT, 'line-width': 3 },
      },
      {
        id: 'selected-township', type: 'line', source: 'townships', 'source-layer': 'townships',
        filter: ['==', ['get', 'code'], ''],
        paint: { 'line-color': ACCENT, 'line-width': 3 },
      },
      {
        id: 'households', type: 'circle', source: 'households', 'source-layer': 'households',
        minzoom: 12,
        filter: ['!', ['has', 'cell']],
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2.5, 16, 6],
          'circle-color': PASSING,
          'circle-stroke-color': '#fff',
          'circle-stroke-width': 0.6,
        },
      },
      {
        id: 'plan-route', type: 'line', source: 'plan', filter: ['==', ['get', 'layer'], 'route'],
        paint: { 'line-color': ['get', 'color'], 'line-width': 3, 'line-opacity': 0.9 },
      },
      {
        id: 'plan-stop', type: 'circle', source: 'plan', filter: ['==', ['get', 'layer'], 'stop'],
        paint: {
          'circle-radius': 6, 'circle-color': ['get', 'color'],
          'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5,
        },
      },
      {
        id: 'plan-start', type: 'circle', source: 'plan', filter: ['==', ['get', 'layer'], 'start'],
        paint: {
          'circle-radius': 8, 'circle-color': '#222',
          'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
        },
      },
      {
        id: 'plan-order', type: 'symbol', source: 'plan', filter: ['==', ['get', 'layer'], 'stop'],
        minzoom: 11,
        layout: { 'text-field': ['to-string', ['get', 'order']], 'text-size': 10, 'text-offset': [0, -1.2] },
        paint: { 'text-color': '#222', 'text-halo-color': '#fff', 'text-halo-width': 1.2 },
      },
      {
        id: 'draw-fill', type: 'fill', source: 'draw',
        paint: { 'fill-color': '#1f6fb2', 'fill-opacity': 0.12 },
      },
      {
        id: 'draw-line', type: 'line', source: 'draw',
        paint: { 'line-color': '#1f6fb2', 'line-width': 2, 'line-dasharray': [2, 1] },
      },
      {
        id: 'township-label', type: 'symbol', source: 'labels', filter: ['==', ['get', 'level'], 'township'],
        maxzoom: 10.5,
        layout: { 'text-field': ['get', 'name'], 'text-size': 13 },
        paint: { 'text-color': '#222', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
      },
      {
        id: 'village-label', type: 'symbol', source: 'labels',
        filter: ['in', ['get', 'level'], ['literal', ['village', 'community']]],
        minzoom: 10.5,
        layout: { 'text-field': ['get', 'name'], 'text-size': 11 },
        paint: { 'text-color': '#333', 'text-halo-color': '#fff', 'text-halo-width': 1.2 },
      },
    ],
  };
}

/** fill-color by the class the tiles carry for the indicator. */
export function classColor(indicatorId, palette, noData) {
  const match = ['match', ['coalesce', ['get', `${indicatorId}_class`], -1]];
  palette.forEach((color, i) => match.push(i, color));
  match.push(noData);
  return match;
}

/** fill-color by a code → colour table (the quality view). */
export function codeColor(colors, fallback) {
  const entries = Object.entries(colors);
  if (!entries.length) return fallback;
  const match = ['match', ['get', 'code']];
  for (const [code, color] of entries) match.push(code, color);
  match.push(fallback);
  return match;
}

/** circle-color of household points: red when failing the indicator. The tiles carry
 * `failed`, the comma-joined ids a household fails ("any_problem,unsafe_housing"): whole
 * ids are compared, so that "monitored" never matches "monitored_unstable". */
export function householdColor(indicatorId) {
  const failed = ['concat', ',', ['coalesce', ['get', 'failed'], ''], ','];
  return ['case', ['in', `,${indicatorId},`, failed], ACCENT, PASSING];
}

/** circle-color of household points: red for the household numbers given. */
export function householdSetColor(householdNos) {
  const nos = [...new Set(householdNos)];
  if (!nos.length) return PASSING;
  return ['match', ['get', 'household_no'], nos, ACCENT, PASSING];
}

/** Shows or hides a layer. */
export function setVisible(map, id, visible) {
  if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
}

/** Replaces the heat-map layer (or removes it when `mode` is empty). */
export function setHeat(map, origin, indicatorId, mode, version) {
  // Unchanged: keep the tiles already drawn rather than reload them.
  const key = mode ? `${indicatorId}/${mode}/${version}` : '';
  if (map.paichaHeat === key) return;
  map.paichaHeat = key;
  if (map.getLayer('heat')) map.removeLayer('heat');
  if (map.getSource('heat')) map.removeSource('heat');
  if (!mode) return;
  map.addSource('heat', {
    type: 'raster',
    tiles: [`${origin}/tiles/heat/${indicatorId}/{z}/{x}/{y}.png?mode=${mode}&v=${version}`],
    tileSize: 256,
    minzoom: 6,
    maxzoom: 16,
  });
  map.addLayer({ id: 'heat', type: 'raster', source: 'heat', paint: { 'raster-opacity': 0.85 } }, 'village-line');
}

let pmtilesReady = false;

/** Replaces the basemap (or removes it for '' = offline, background only). */
export function setBasemap(map, origin, basemap) {
  for (const id of ['basemap', 'basemap-labels']) {
    if (map.getLayer(id)) map.removeLayer(id);
  }
  for (const layer of map.getStyle().layers) {
    if (layer.id.startsWith('basemap-v-')) map.removeLayer(layer.id);
  }
  for (const id of ['basemap', 'basemap-labels']) {
    if (map.getSource(id)) map.removeSource(id);
  }
  if (!basemap) return;
  const below = 'village-fill';
  const absolute = (url) => (url.startsWith('/') ? `${origin}${url}` : url);
  let source;
  if (basemap.source === 'pmtiles') {
    if (!pmtilesReady) {
      const protocol = new pmtiles.Protocol();
      maplibregl.addProtocol('pmtiles', protocol.tile);
      pmtilesReady = true;
    }
    source = { url: `pmtiles://${absolute(basemap.url)}` };
  } else {
    source = { tiles: basemap.tiles.map(absolute) };
  }
  source.minzoom = basemap.minzoom;
  source.maxzoom = basemap.maxzoom;
  if (basemap.bounds) source.bounds = basemap.bounds;
  if (basemap.attribution) source.attribution = basemap.attribution;
  if (basemap.kind === 'raster') {
    map.addSource('basemap', { type: 'raster', tileSize: 256, ...source });
    map.addLayer({ id: 'basemap', type: 'raster', source: 'basemap' }, below);
    if (basemap.labels && basemap.labels.length) {
      map.addSource('basemap-labels', { type: 'raster', tileSize: 256, tiles: basemap.labels });
      map.addLayer({ id: 'basemap-labels', type: 'raster', source: 'basemap-labels' }, 'households');
    }
    return;
  }
  // A vector package of unknown schema: every layer drawn plainly, polygons as light
  // fills and lines as grey strokes, under our boundaries.
  map.addSource('basemap', { type: 'vector', ...source });
  const layers = (basemap.vector_layers || []).map((l) => l.id);
  for (const id of layers) {
    map.addLayer({
      id: `basemap-v-${id}-fill`, type: 'fill', source: 'basemap', 'source-layer': id,
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': '#e4e0d6', 'fill-outline-color': '#cfc9bb' },
    }, below);
    map.addLayer({
      id: `basemap-v-${id}-line`, type: 'line', source: 'basemap', 'source-layer': id,
      filter: ['==', ['geometry-type'], 'LineString'],
      paint: { 'line-color': '#b9b2a3', 'line-width': 0.8 },
    }, below);
  }
}
