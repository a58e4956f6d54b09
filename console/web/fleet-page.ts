// The fleet table: one row per device, updated from the live feed as messages arrive (and every
// second for the ages): state, last seen, firmware, last values with units, last OTA, errors.
import { ago, h } from './dom.ts';
import type { Row, Sample } from './feed.ts';
import type { Page } from './page.ts';

export function values(s: Sample | null): string {
  if (!s) return '';
  const parts = [s.temperature === null ? 'T n/a' : `${s.temperature.toFixed(1)} °C`];
  if (s.humidity !== null) parts.push(`${s.humidity.toFixed(1)} %RH`);
  if (s.lux !== null) parts.push(`${s.lux} lx`);
  parts.push(s.motion ? 'motion' : 'no motion');
  return parts.join(' · ');
}

function errors(r: Row): string {
  const parts = [];
  if (r.errors.dht) parts.push(`DHT ${r.errors.dht}`);
  if (r.errors.dropped) parts.push(`dropped ${r.errors.dropped}`);
  if (r.errors.decode) parts.push(`undecodable ${r.errors.decode}`);
  return parts.join(', ');
}

export const fleetPage: Page = (root, { feed, meta }) => {
  const summary = h('div', { class: 'summary' });
  const body = h('tbody');
  root.append(
    h('h1', {}, 'Fleet'),
    summary,
    h('table', { id: 'fleet' }, h('thead', {}, h('tr', {}, ...['Device', 'State', 'Last seen', 'Firmware', 'Last values', 'Last OTA', 'Errors'].map((c) => h('th', {}, c)))), body),
  );
  const render = () => {
    const rows = [...feed.rows.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    const count = (l: string) => rows.filter((r) => r.liveness === l).length;
    summary.textContent = `${rows.length} devices on ${meta.broker}: ${count('online')} online, ${count('stale')} stale, ${count('offline')} offline`;
    body.replaceChildren(
      ...rows.map((r) =>
        h(
          'tr',
          { 'data-device': r.id, 'data-liveness': r.liveness },
          h('td', {}, h('a', { href: `#/device/${encodeURIComponent(r.id)}` }, r.id)),
          h('td', { class: 'state' }, h('span', { class: `pill ${r.liveness}` }, r.liveness), r.liveness === 'stale' && r.staleSince ? h('span', { class: 'muted' }, ` since ${ago(r.staleSince, feed.skew)}`) : '', r.liveness === 'offline' ? h('span', { class: 'muted' }, r.offlineSince ? ` ${ago(r.offlineSince, feed.skew)}` : ' before we looked') : ''),
          h('td', {}, ago(r.lastSeen, feed.skew)),
          h('td', {}, r.firmwareVersion ?? '?', r.otaSeq !== null ? h('span', { class: 'muted' }, ` seq ${r.otaSeq}`) : ''),
          h('td', { class: 'values' }, values(r.lastSample), r.lastSampleAt ? h('span', { class: 'muted' }, ` (${ago(r.lastSampleAt, feed.skew)})`) : ''),
          h('td', {}, r.ota ? `${r.ota.state}${r.ota.reason === 'ok' ? '' : ` (${r.ota.reason})`} seq ${r.ota.seq}` : ''),
          h('td', { class: errors(r) ? 'err' : '' }, errors(r) || '0'),
        ),
      ),
    );
    if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'no devices yet: nothing retained under this prefix')));
  };
  render();
  const off = feed.on((kind) => kind === 'rows' && render());
  const timer = setInterval(render, 1000);
  return () => {
    off();
    clearInterval(timer);
  };
};
