// Broker URLs, parsed without the WHATWG URL class (XS has none): one definition for the device
// config, the simulator and the CLI.
//   mqtt://[user[:password]@]host[:port]   tcp:// is the same; mqtts://, ssl://, tls:// use TLS.
export interface BrokerAddress {
  secure: boolean;
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export class BrokerUrlError extends Error {
  override name = 'BrokerUrlError';
}

const SCHEMES: Readonly<Record<string, boolean>> = Object.freeze({ mqtt: false, tcp: false, mqtts: true, ssl: true, tls: true });
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

export function parseBrokerUrl(url: string): BrokerAddress {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)\/?$/.exec(url);
  if (!m) throw new BrokerUrlError(`broker URL "${url}" is not a URL; expected e.g. mqtt://127.0.0.1:1883 or mqtts://broker:8883`);
  const scheme = m[1].toLowerCase();
  const secure = SCHEMES[scheme];
  if (secure === undefined) throw new BrokerUrlError(`broker URL scheme "${scheme}" is not supported; use mqtt:// or mqtts://`);
  let authority = m[2];
  let username: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    username = unescape(colon >= 0 ? userinfo.slice(0, colon) : userinfo, url);
    if (colon >= 0) password = unescape(userinfo.slice(colon + 1), url);
    if (username === '') username = undefined;
  }
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new BrokerUrlError(`broker URL "${url}" has an unterminated IPv6 address`);
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new BrokerUrlError(`broker URL "${url}" has text after the IPv6 address`);
    portText = rest ? rest.slice(1) : undefined;
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) throw new BrokerUrlError(`broker URL "${url}" has an invalid IPv6 address`);
  } else {
    const colon = authority.indexOf(':');
    host = colon >= 0 ? authority.slice(0, colon) : authority;
    portText = colon >= 0 ? authority.slice(colon + 1) : undefined;
    if (host === '') throw new BrokerUrlError(`broker URL "${url}" has no host`);
    if (!HOST.test(host)) throw new BrokerUrlError(`broker URL "${url}" has an invalid host "${host}"`);
    host = host.toLowerCase();
  }
  let port = secure ? 8883 : 1883;
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new BrokerUrlError(`broker URL "${url}" has an invalid port "${portText}" (1..65535)`);
    }
    port = Number(portText);
  }
  return { secure, host, port, username, password };
}

/** The canonical URL; without its credentials unless asked (they are secrets: see host/redact.ts). */
export function formatBrokerUrl(a: BrokerAddress, withCredentials = false): string {
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  let user = '';
  if (withCredentials && (a.username !== undefined || a.password !== undefined)) {
    user = `${encodeURIComponent(a.username ?? '')}${a.password === undefined ? '' : `:${encodeURIComponent(a.password)}`}@`;
  }
  return `${a.secure ? 'mqtts' : 'mqtt'}://${user}${host}:${a.port}`;
}

function unescape(s: string, url: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BrokerUrlError(`broker URL "${url}" has a malformed %-escape in its user info`);
  }
}
