// The console's single page: a hash router over the fleet table, a device's plots, the OTA page
// and the flasher, sharing one live feed.
import { Feed } from './feed.ts';
import { api } from './dom.ts';
import { fleetPage } from './fleet-page.ts';
import { devicePage } from './device-page.ts';
import { otaPage } from './ota-page.ts';
import { flashPage } from './flash-page.ts';
import type { Context, Meta, Page } from './page.ts';

const feed = new Feed();
const link = document.getElementById('link')!;
feed.on((kind) => {
  if (kind !== 'link') return;
  link.textContent = feed.connected ? 'live' : 'reconnecting…';
  link.classList.toggle('down', !feed.connected);
});

const { body: meta } = await api<Meta>('/api/meta');
const ctx: Context = { feed, meta };
const root = document.getElementById('page')!;
let cleanup: () => void = () => {};

function route(): void {
  cleanup();
  root.replaceChildren();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [, first, ...rest] = hash.split('/');
  const nav = first === 'device' ? 'fleet' : first || 'fleet';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) a.classList.toggle('active', a.dataset.nav === nav);
  const page: Page = first === 'device' ? devicePage : first === 'ota' ? otaPage : first === 'flash' ? flashPage : fleetPage;
  cleanup = page(root, ctx, rest.map(decodeURIComponent).join('/'));
}

window.addEventListener('hashchange', route);
route();
