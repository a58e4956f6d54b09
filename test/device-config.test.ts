// Broker URLs, device configuration with storage overrides, and the reboot-safe sequence counter.
import { describe, expect, it } from 'vitest';
import { BrokerUrlError, formatBrokerUrl, parseBrokerUrl } from '../protocol/broker-url.ts';
import { ConfigError, objectSource, resolveConfig } from '../device/config.ts';
import { SequenceCounter } from '../device/app/sequence.ts';
import type { DeviceStorage } from '../device/platform/types.ts';

describe('parseBrokerUrl', () => {
  it.each([
    ['mqtt://127.0.0.1:1883', { secure: false, host: '127.0.0.1', port: 1883 }],
    ['mqtt://broker.local', { secure: false, host: 'broker.local', port: 1883 }],
    ['tcp://Broker.Example.com:2000/', { secure: false, host: 'broker.example.com', port: 2000 }],
    ['mqtts://broker:8884', { secure: true, host: 'broker', port: 8884 }],
    ['tls://broker', { secure: true, host: 'broker', port: 8883 }],
    ['mqtt://[::1]:1884', { secure: false, host: '::1', port: 1884 }],
    ['mqtt://user:p%40ss@h:1', { secure: false, host: 'h', port: 1, username: 'user', password: 'p@ss' }],
  ])('%s', (url, expected) => {
    expect(parseBrokerUrl(url)).toEqual({ username: undefined, password: undefined, ...expected });
  });

  it.each([
    ['broker:1883', /is not a URL/],
    ['http://broker', /scheme "http" is not supported/],
    ['mqtt://:1883', /has no host/],
    ['mqtt://host:0', /invalid port "0"/],
    ['mqtt://host:70000', /invalid port "70000"/],
    ['mqtt://host:12ab', /invalid port/],
    ['mqtt://bad_host', /invalid host/],
    ['mqtt://[::1', /unterminated IPv6/],
    ['mqtt://u:%zz@h', /malformed %-escape/],
  ])('refuses %s', (url, message) => {
    expect(() => parseBrokerUrl(url)).toThrow(BrokerUrlError);
    expect(() => parseBrokerUrl(url)).toThrow(message);
  });

  it('agrees with the WHATWG URL parser on host, port and credentials', () => {
    for (const url of ['mqtt://a.b.c:1', 'mqtts://x:y@h.example:65535', 'mqtt://10.0.0.1']) {
      const ours = parseBrokerUrl(url);
      const whatwg = new URL(url);
      expect(ours.host).toBe(whatwg.hostname);
      expect(String(ours.port)).toBe(whatwg.port || (ours.secure ? '8883' : '1883'));
      expect(ours.username ?? '').toBe(whatwg.username);
    }
    expect(formatBrokerUrl(parseBrokerUrl('mqtt://[::1]'))).toBe('mqtt://[::1]:1883');
  });
});

class MapStorage implements DeviceStorage {
  readonly map = new Map<string, string | number | boolean>();
  writes = 0;
  get(key: string) {
    return this.map.get(key);
  }
  set(key: string, value: string | number | boolean) {
    this.writes++;
    this.map.set(key, value);
  }
  delete(key: string) {
    this.map.delete(key);
  }
}

describe('resolveConfig', () => {
  const base = { deviceId: 'dev-1', broker: 'mqtt://10.0.0.2:1883', ssid: 'lab', password: 'secret' };

  it('fills defaults and keeps Wi-Fi credentials apart from the broker credentials', () => {
    const c = resolveConfig(objectSource(base));
    expect(c).toMatchObject({
      deviceId: 'dev-1', topicPrefix: 'canopy', intervalMs: 10_000, qos: 1, light: 'bh1750', bh1750Address: 0x23,
      broker: { host: '10.0.0.2', port: 1883, secure: false, password: undefined },
      wifi: { ssid: 'lab', password: 'secret' },
    });
  });

  it('storage overrides the compiled-in config, one firmware for many devices', () => {
    const s = new MapStorage();
    s.set('deviceId', 'dev-42');
    s.set('intervalMs', 5000);
    s.set('bh1750Address', '0x5c');
    s.set('mqttUsername', 'fleet');
    s.set('mqttPassword', 'pw');
    s.set('ssid', 'evil'); // not overridable: Wi-Fi comes from the build
    const c = resolveConfig(objectSource(base), s);
    expect(c).toMatchObject({ deviceId: 'dev-42', intervalMs: 5000, bh1750Address: 0x5c, broker: { username: 'fleet', password: 'pw' }, wifi: { ssid: 'lab' } });
  });

  it.each([
    [{ deviceId: undefined }, /deviceId is required/],
    [{ deviceId: 'bad id' }, /device id "bad id"/],
    [{ broker: 'http://x' }, /broker: .*scheme "http"/],
    [{ intervalMs: 10 }, /intervalMs from config must be an integer 1000\.\.86400000, got 10/],
    [{ qos: 3 }, /qos from config must be an integer 0\.\.2/],
    [{ light: 'sun' }, /light must be "bh1750", "ldr" or "none"/],
    [{ bh1750Address: 0x24 }, /0x23 \(ADDR low\) or 0x5C/],
    [{ dhtPin: 'four' }, /dhtPin from config must be an integer/],
  ])('refuses %o with a message naming the key', (patch, message) => {
    expect(() => resolveConfig(objectSource({ ...base, ...patch }))).toThrow(ConfigError);
    expect(() => resolveConfig(objectSource({ ...base, ...patch }))).toThrow(message);
  });

  it('says when a bad value came from storage', () => {
    const s = new MapStorage();
    s.set('intervalMs', 'soon');
    expect(() => resolveConfig(objectSource(base), s)).toThrow(/intervalMs from storage/);
  });
});

describe('SequenceCounter', () => {
  it('never repeats across reboots and writes storage once per block', () => {
    const storage = new MapStorage();
    let counter = new SequenceCounter(storage, 'seq', 100);
    const first = Array.from({ length: 250 }, () => counter.take());
    expect(first[0]).toBe(1);
    expect(first.at(-1)).toBe(250);
    expect(storage.writes).toBe(3);
    counter = new SequenceCounter(storage, 'seq', 100); // power cut and reboot
    const after = counter.take();
    expect(after).toBeGreaterThan(250);
    expect(after).toBe(301);
  });

  it('wraps from 2^32-1 to 1', () => {
    const storage = new MapStorage();
    storage.set('seq', 0xffffffff);
    const counter = new SequenceCounter(storage, 'seq', 10);
    expect(counter.take()).toBe(0xffffffff);
    expect(counter.take()).toBe(1);
  });
});
