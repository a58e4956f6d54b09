// Who may talk to the console. On its default address (127.0.0.1) only this machine can reach it,
// so no token is asked for; but any web page open in the browser can still send requests to
// 127.0.0.1, so every request must name this console's own host (a DNS-rebinding page names its
// own) and every state-changing request or WebSocket must come from the console's own origin.
// Bound to any other address (--host), every request needs the access token: as a bearer header,
// or as the cookie the console sets when a person opens `/?token=T` once.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const DEFAULT_HOST = '127.0.0.1';
export const TOKEN_COOKIE = 'canopy_console';
/** A token shorter than this is guessable: refused at start. */
export const MIN_TOKEN_LENGTH = 16;

export interface AccessPolicy {
  /** Required on every request when set (the console is bound beyond its default address). */
  token?: string;
  /** The port actually bound, for the Host check. */
  port: number;
  host: string;
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares in constant time (of the digests), so the answer's timing says nothing about the token. */
export function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * The token a request carries: Authorization: Bearer, the cookie, or ?token= on a page the person
 * opens (which answers by setting the cookie): never in the URL of an API call or the WebSocket,
 * where it would end up in logs and history.
 */
export function requestToken(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const page = req.method === 'GET' && !url.pathname.startsWith('/api/') && url.pathname !== '/ws';
  return cookieToken(req) ?? (page ? url.searchParams.get('token') ?? undefined : undefined);
}

function loopbackNames(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Decides one HTTP request or WebSocket upgrade. `changes`: a POST or an upgrade. */
export function check(req: IncomingMessage, url: URL, policy: AccessPolicy, changes: boolean): Verdict {
  const host = req.headers.host ?? '';
  if (!policy.token && !loopbackNames(policy.port).has(host)) {
    return { ok: false, status: 403, message: `this console answers only to 127.0.0.1:${policy.port} (the request named ${host || 'no host'})` };
  }
  const origin = req.headers.origin;
  if (changes && origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = '';
    }
    if (originHost !== host) return { ok: false, status: 403, message: `requests from ${origin} are not accepted; use the console's own pages` };
  }
  if (policy.token) {
    const given = requestToken(req, url);
    if (given === undefined) return { ok: false, status: 401, message: 'this console needs its access token: open /?token=TOKEN once, or send Authorization: Bearer TOKEN' };
    if (!sameToken(given, policy.token)) return { ok: false, status: 401, message: 'wrong access token' };
  }
  return { ok: true };
}

export function isLoopbackDefault(host: string): boolean {
  return host === DEFAULT_HOST;
}
