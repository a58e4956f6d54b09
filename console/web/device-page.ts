// One device: its row, and a uPlot time series of every telemetry field from the history store,
// cursors and zoom synchronised across the charts (drag to zoom, double-click to reset). While
// the view ends at "now" the plots follow the live tail: samples from the feed are appended.
import uPlot from 'uplot';
import { ago, api, h } from './dom.ts';
import type { Sample } from './feed.ts';
import type { Page } from './page.ts';
import { values } from './fleet-page.ts';
import { COLORS } from './colors.ts';

interface FieldSeries {
  unit: string;
  label: string;
  at: number[];
  values: (number | null)[];
}

const RANGES: [string, number][] = [
  ['15m', 15 * 60_000],
  ['1h', 3_600_000],
  ['6h', 6 * 3_600_000],
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
];


/** What the tests read back: each field's points as plotted. */
declare global {
  interface Window {
    canopyPlots?: Record<string, { at: number[]; values: (number | null)[] }>;
  }
}

const sampleValue = (s: Sample, field: string): number | null => {
  if (field === 'motion') return s.motion ? 1 : 0;
  return (s as unknown as Record<string, number | null>)[field] ?? null;
};

export const devicePage: Page = (root, { feed, meta }, id = '') => {
  let span = 3_600_000;
  let follow = true;
  const plots = new Map<string, uPlot>();
  const series = new Map<string, FieldSeries>();
  const head = h('div', { class: 'card', id: 'device-head' });
  const status = h('span', { class: 'muted' });
  const followButton = h('button', { class: 'on', onclick: () => setFollow(true) }, 'follow live');
  const charts = h('div', { class: 'charts' });
  const sync = uPlot.sync(`device-${id}`);
  window.canopyPlots = {};

  const toolbar = h(
    'div',
    { class: 'toolbar' },
    ...RANGES.map(([label, ms]) => h('button', { 'data-range': label, class: ms === span ? 'on' : '', onclick: (e: Event) => setRange(ms, e.target as HTMLElement) }, label)),
    followButton,
    status,
  );
  root.append(h('h1', {}, h('a', { href: '#/' }, 'Fleet'), ' / ', id), head, toolbar, charts);

  const renderHead = () => {
    const r = feed.rows.get(id);
    if (!r) return head.replaceChildren(h('span', { class: 'muted' }, 'not seen on the broker (yet)'));
    head.replaceChildren(
      h(
        'dl',
        { class: 'kv' },
        h('dt', {}, 'state'),
        h('dd', {}, h('span', { class: `pill ${r.liveness}` }, r.liveness)),
        h('dt', {}, 'last seen'),
        h('dd', {}, ago(r.lastSeen, feed.skew)),
        h('dt', {}, 'firmware'),
        h('dd', {}, `${r.firmwareVersion ?? '?'}${r.otaSeq !== null ? ` (OTA seq ${r.otaSeq})` : ''}`),
        h('dt', {}, 'last values'),
        h('dd', {}, values(r.lastSample)),
      ),
    );
  };

  const setFollow = (on: boolean) => {
    follow = on;
    followButton.classList.toggle('on', on);
    if (on) void load();
  };
  const setRange = (ms: number, button: HTMLElement) => {
    span = ms;
    for (const b of toolbar.querySelectorAll('[data-range]')) b.classList.toggle('on', b === button);
    setFollow(true);
  };

  const draw = (field: string) => {
    const s = series.get(field)!;
    const data: uPlot.AlignedData = [s.at.map((t) => t / 1000), s.values];
    window.canopyPlots![field] = { at: s.at, values: s.values };
    const existing = plots.get(field);
    const now = (Date.now() + feed.skew) / 1000;
    if (existing) {
      existing.setData(data, false);
      if (follow) existing.setScale('x', { min: now - span / 1000, max: now });
      return;
    }
    const box = h('div', { class: 'chart', 'data-field': field, 'data-points': s.at.length }, h('h3', {}, `${s.label} (${s.unit})`));
    charts.append(box);
    const plot = new uPlot(
      {
        width: Math.max(400, charts.clientWidth - 20),
        height: 150,
        cursor: { sync: { key: sync.key }, drag: { x: true, y: false } },
        legend: { show: true },
        scales: { x: { time: true, min: now - span / 1000, max: now } },
        series: [{}, { label: s.label, stroke: COLORS[field] ?? '#333', width: 2, paths: field === 'motion' ? uPlot.paths.stepped?.({ align: 1 }) : undefined, value: (_u, v) => (v === null ? '—' : `${v} ${s.unit}`) }],
        axes: [{}, { size: 60 }],
        hooks: {
          // A zoom by the person (a drag) stops the live tail until "follow live" again.
          setSelect: [(u) => u.select.width > 0 && setFollow(false)],
        },
      },
      data,
      box,
    );
    sync.sub(plot);
    plots.set(field, plot);
  };

  const load = async () => {
    if (!meta.history) {
      status.textContent = 'no history store: start the console with --db';
      return;
    }
    const now = Date.now() + feed.skew;
    const { status: code, body } = await api<{ fields: Record<string, FieldSeries>; error?: { detail: string } }>(`/api/history?device=${encodeURIComponent(id)}&since=${Math.floor(now - span)}&until=${Math.ceil(now + 1)}`);
    if (code !== 200) {
      status.textContent = body.error?.detail ?? `history: HTTP ${code}`;
      return;
    }
    let total = 0;
    for (const f of meta.fields) {
      series.set(f.name, body.fields[f.name]);
      total += body.fields[f.name].at.length;
      draw(f.name);
      charts.querySelector<HTMLElement>(`[data-field="${f.name}"]`)!.dataset.points = String(body.fields[f.name].at.length);
    }
    status.textContent = `${total / meta.fields.length} samples from the history store`;
    root.dataset.loaded = 'true';
  };

  renderHead();
  void load();
  const off = feed.on((kind, data) => {
    if (kind === 'rows') renderHead();
    if (kind !== 'sample' || !follow) return;
    const m = data as { device: string; at: number; sample: Sample };
    if (m.device !== id) return;
    const at = m.sample.ts > 0 ? m.sample.ts * 1000 : m.at;
    for (const f of meta.fields) {
      const s = series.get(f.name);
      if (!s || (s.at.length && s.at[s.at.length - 1] >= at)) continue;
      s.at.push(at);
      s.values.push(sampleValue(m.sample, f.name));
      draw(f.name);
    }
  });
  const timer = setInterval(() => {
    renderHead();
    if (follow) for (const f of plots.keys()) draw(f);
  }, 2000);
  return () => {
    off();
    clearInterval(timer);
    for (const p of plots.values()) p.destroy();
  };
};
