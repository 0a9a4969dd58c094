// The state of the view, kept in the URL's hash so that a leader can send a link:
// #view=indicators&ind=dropout&area=210422100&lvl=village&heat=rate&map=11/41.7/125.0

const DEFAULTS = {
  view: 'indicators', // indicators | quality | changes | crosschecks | plan
  ind: 'any_problem', // indicator id
  area: '', // selected area code ('' = the county)
  lvl: 'village', // choropleth unit: village | township | county (a city's) | city (a province's)
  rk: '', // the county's ranking: '' = its townships, 'village' = all its villages
  ch: '1', // choropleth on
  heat: '', // '' | count | rate
  hh: '1', // household points
  lbl: '1', // labels
  base: '', // basemap id ('' = the first offline package if any, 'none' = none)
  flag: 'no_gps', // quality view: the flag shown
  plan: '', // plan id shown
  map: '', // zoom/lat/lon
};

/** Reads the state from the hash, with defaults for what it does not say. */
export function readState() {
  const params = new URLSearchParams(location.hash.slice(1));
  const state = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    if (params.has(key)) state[key] = params.get(key);
  }
  return state;
}

/** Writes the state to the hash (only what differs from the defaults). */
export function writeState(state) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (key in DEFAULTS && value !== DEFAULTS[key]) params.set(key, value);
  }
  const hash = params.toString();
  const url = `${location.pathname}${location.search}${hash ? `#${hash}` : ''}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) {
    history.replaceState(null, '', url);
  }
}

/** Parses map=zoom/lat/lon. */
export function parseView(text) {
  const parts = (text || '').split('/').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n))) return null;
  const [zoom, lat, lon] = parts;
  return { zoom, center: [lon, lat] };
}

/** Formats the map's position as zoom/lat/lon. */
export function formatView(map) {
  const c = map.getCenter();
  return `${map.getZoom().toFixed(2)}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`;
}
