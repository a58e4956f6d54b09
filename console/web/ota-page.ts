// The OTA page: upload a package (verified by the console against its trust store with the
// verifier and reason codes of `canopy ota verify`), start a staged rollout of it (canary, waves,
// halt threshold), watch each device's transfer and result live, halt it. No key is ever asked
// for: signing stays with `canopy ota pack` on the release machine.
import { api, h } from './dom.ts';
import type { Rollout } from './feed.ts';
import type { Page } from './page.ts';

interface Pkg {
  id: string;
  name: string;
  size: number;
  manifest: Record<string, unknown>;
  signers: string[];
  receivedAt: string;
}

interface Refusal {
  reason: string;
  code?: number;
  detail: string;
  description: string;
}

export function verdictCard(v: { package?: Pkg; error?: Refusal }, name: string): HTMLElement {
  if (v.error) {
    const e = v.error;
    return h(
      'div',
      { class: 'card verdict refused', id: 'verdict', 'data-reason': e.reason, 'data-code': e.code ?? '' },
      h('strong', {}, `${name} refused: `),
      h('span', { class: 'reason' }, e.reason),
      e.code !== undefined ? ` (code ${e.code}, the exit code of canopy ota verify)` : '',
      h('div', {}, e.detail),
      h('div', { class: 'muted' }, e.description),
      h('div', { class: 'muted' }, 'Nothing was kept.'),
    );
  }
  const p = v.package!;
  const m = p.manifest;
  return h(
    'div',
    { class: 'card verdict ok', id: 'verdict', 'data-reason': 'ok', 'data-package': p.id },
    h('strong', {}, `${p.name} verified`),
    h('span', { class: 'muted' }, ' against the trust store'),
    h(
      'dl',
      { class: 'kv' },
      ...[
        ['project', `${m.project} ${m.appVersion}`],
        ['sequence', String(m.seq)],
        ['image', `${m.size} bytes for chip id ${m.chipId}, sha256 ${String(m.sha256 ?? '').slice(0, 16)}…`],
        ['vendor / class ids', `${String(m.vendor).slice(0, 8)}… / ${String(m.class).slice(0, 8)}…`],
        ['signed by', p.signers.join(', ')],
        ['package id', p.id.slice(0, 16) + '…'],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
  );
}

export const otaPage: Page = (root, { feed, meta }) => {
  const file = h('input', { type: 'file', id: 'package-file', accept: '.canopy,.cota,application/octet-stream' });
  const verdict = h('div', { id: 'verdict-box' });
  const list = h('select', { id: 'package' });
  const fleet = h('input', { type: 'text', id: 'fleet', value: '*', title: 'device ids a,b,c or a pattern such as lab-*' });
  const num = (id: string, value: number, min: number, max: number, step = 1) => h('input', { type: 'number', id, value, min, max, step });
  const canary = num('canary', 1, 1, 10000);
  const growth = num('growth', 2, 1, 100, 0.5);
  const haltPercent = num('halt-percent', 10, 0, 100);
  const timeout = num('timeout', 120, 1, 3600);
  const retry = h('input', { type: 'checkbox', id: 'retry-failed' });
  const override = h('input', { type: 'checkbox', id: 'override-halt' });
  const startError = h('div', { class: 'err', id: 'start-error' });
  const rolloutBox = h('div', { id: 'rollout' });
  let shown: number | undefined;

  const upload = async () => {
    const f = file.files?.[0];
    if (!f) return;
    verdict.replaceChildren(h('div', { class: 'muted' }, `verifying ${f.name}…`));
    const { body } = await api<{ package?: Pkg; error?: Refusal }>('/api/packages', { method: 'POST', headers: { 'X-File-Name': encodeURIComponent(f.name), 'Content-Type': 'application/octet-stream' }, body: f });
    verdict.replaceChildren(verdictCard(body, f.name));
    await refresh(body.package?.id);
  };

  const refresh = async (select?: string) => {
    const { body } = await api<{ packages: Pkg[] }>('/api/packages');
    list.replaceChildren(...body.packages.map((p) => h('option', { value: p.id, selected: p.id === select }, `${p.name} — ${p.manifest.project} ${p.manifest.appVersion} seq ${p.manifest.seq}`)));
  };

  const start = async () => {
    startError.textContent = '';
    const { status, body } = await api<{ rollout?: Rollout; error?: { detail: string } }>('/api/rollouts', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ package: list.value, fleet: fleet.value, canary: Number(canary.value), growth: Number(growth.value), haltPercent: Number(haltPercent.value), timeoutS: Number(timeout.value), retryFailed: retry.checked, overrideHalt: override.checked }),
    });
    if (status !== 201 || !body.rollout) {
      startError.textContent = body.error?.detail ?? `HTTP ${status}`;
      return;
    }
    shown = body.rollout.id;
    feed.rollouts.set(body.rollout.id, body.rollout);
    renderRollout();
  };

  const halt = async (id: number) => {
    const { status, body } = await api<{ error?: { detail: string } }>(`/api/rollouts/${id}/halt`, { method: 'POST' });
    if (status !== 200) startError.textContent = body.error?.detail ?? `HTTP ${status}`;
  };

  const renderRollout = () => {
    const all = [...feed.rollouts.values()].sort((a, b) => b.id - a.id);
    const r = (shown !== undefined && feed.rollouts.get(shown)) || all[0];
    if (!r) return rolloutBox.replaceChildren(h('div', { class: 'muted' }, 'no rollout yet'));
    const groupName = (g: number) => (g < 0 ? '' : g === 0 ? 'canary' : `wave ${g}`);
    const running = r.state === 'running' || r.state === 'halting';
    const banner =
      r.state === 'halted' ? `halted: ${r.halt}` : r.state === 'finished' ? `finished: ${r.summary?.confirmed} confirmed${r.summary?.notConfirmed.length ? `, not confirmed: ${r.summary.notConfirmed.join(', ')}` : ''}` : r.state === 'failed' ? `failed: ${r.error}` : r.state === 'halting' ? `halting: no new wave starts; ${groupName(r.group)} finishes` : `running ${groupName(r.group)} of ${r.fleet.length} devices`;
    rolloutBox.replaceChildren(
      h('h2', {}, `Rollout ${r.id}: ${r.packageName}`),
      h('div', { class: 'muted' }, `fleet ${r.request.fleet} · canary ${r.request.canary} · waves ×${r.request.growth} · halt above ${r.request.haltPercent}% failed`),
      h('div', { class: `banner ${r.state}`, id: 'rollout-state', 'data-state': r.state }, banner, ' ', running ? h('button', { class: 'danger', id: 'halt', disabled: r.state === 'halting', onclick: () => void halt(r.id) }, 'Halt') : ''),
      h(
        'table',
        { id: 'rollout-devices' },
        h('thead', {}, h('tr', {}, ...['Device', 'Group', 'State', 'Progress', 'Result'].map((c) => h('th', {}, c)))),
        h(
          'tbody',
          {},
          ...r.fleet.map((d) => {
            const p = r.devices[d];
            return h(
              'tr',
              { 'data-device': d, 'data-state': p.state },
              h('td', {}, d),
              h('td', {}, groupName(p.group)),
              h('td', { class: `state-${p.state}` }, p.state),
              h('td', {}, p.total ? h('progress', { max: p.total, value: p.done }) : '', p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : ''),
              h('td', {}, p.reason ? h('span', { class: 'reason' }, p.reason) : '', p.detail ? h('span', { class: 'muted' }, ` ${p.detail}`) : ''),
            );
          }),
        ),
      ),
    );
  };

  root.append(
    h('h1', {}, 'OTA updates'),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, '1. Upload a signed package'),
      meta.trust ? '' : h('div', { class: 'err' }, 'This console was started without --trust: packages cannot be verified, so none are accepted.'),
      h('div', { class: 'muted' }, 'A .canopy package from `npx canopy ota pack`. Private keys are refused: signing stays on your release machine.'),
      h('div', { class: 'toolbar' }, file, h('button', { class: 'primary', id: 'upload', onclick: () => void upload() }, 'Upload and verify')),
      verdict,
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, '2. Staged rollout'),
      meta.rollouts ? '' : h('div', { class: 'err' }, 'No broker session for rollouts.'),
      h('div', { class: 'toolbar' }, h('label', {}, 'package', list)),
      h('div', { class: 'toolbar' }, h('label', {}, 'fleet', fleet), h('label', {}, 'canary', canary), h('label', {}, 'wave growth ×', growth), h('label', {}, 'halt above % failed', haltPercent), h('label', {}, 'per-device timeout s', timeout)),
      h('div', { class: 'toolbar' }, h('label', {}, retry, 'retry failed first'), h('label', {}, override, 'override an earlier halt'), h('button', { class: 'primary', id: 'start', onclick: () => void start() }, 'Start rollout')),
      startError,
    ),
    rolloutBox,
  );
  void refresh();
  renderRollout();
  const off = feed.on((kind) => kind === 'rollout' && renderRollout());
  return off;
};
