import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../host/file-store.ts';
import { encodeRecord, replayLog } from '../protocol/session/record.ts';
import type { OutboundMessage } from '../protocol/session/message.ts';

const dirs: string[] = [];
function tempPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'canopy-store-'));
  dirs.push(d);
  return join(d, 'outbox.log');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const msg = (id: number, extra: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id,
  topic: `canopy/dev/t${id}`,
  payload: new Uint8Array([id, 1, 2]),
  qos: 1,
  retain: false,
  ...extra,
});

describe('outbox records', () => {
  it('round-trip every field, including the QoS 2 phase and packet id', () => {
    const m = msg(9, { qos: 2, retain: true, packetId: 65535, phase: 'pubrel', topic: 'ünï/código' });
    const log = encodeRecord({ op: 'put', message: m });
    expect(replayLog(log).messages).toEqual([m]);
  });

  it('replay applies deletes and stops at a torn or corrupted tail', () => {
    const a = encodeRecord({ op: 'put', message: msg(1) });
    const b = encodeRecord({ op: 'put', message: msg(2) });
    const d = encodeRecord({ op: 'delete', id: 1 });
    const whole = new Uint8Array([...a, ...b, ...d]);
    expect(replayLog(whole).messages.map((m) => m.id)).toEqual([2]);
    for (let cut = 1; cut < d.length; cut++) {
      const torn = whole.subarray(0, whole.length - cut);
      const r = replayLog(torn);
      expect(r.messages.map((m) => m.id)).toEqual([1, 2]);
      expect(r.goodBytes).toBe(a.length + b.length);
    }
    const flipped = whole.slice();
    flipped[a.length + 10] ^= 0x40;
    expect(replayLog(flipped).messages.map((m) => m.id)).toEqual([1]);
  });
});

describe('FileStore', () => {
  it('keeps messages across a reopen, as after a reboot', () => {
    const path = tempPath();
    const s1 = new FileStore(path);
    expect(s1.load()).toEqual([]);
    s1.put(msg(1));
    s1.put(msg(2));
    s1.put({ ...msg(1), packetId: 4, phase: 'publish' });
    s1.delete(2);
    s1.close();
    const s2 = new FileStore(path);
    expect(s2.load()).toEqual([{ ...msg(1), packetId: 4, phase: 'publish' }]);
  });

  it('cuts a torn record left by a power cut and keeps appending after it', () => {
    const path = tempPath();
    const s1 = new FileStore(path);
    s1.load();
    s1.put(msg(1));
    s1.close();
    appendFileSync(path, encodeRecord({ op: 'put', message: msg(2) }).subarray(0, 7));
    const s2 = new FileStore(path);
    expect(s2.load().map((m) => m.id)).toEqual([1]);
    s2.put(msg(3));
    s2.close();
    expect(new FileStore(path).load().map((m) => m.id)).toEqual([1, 3]);
  });

  it('compacts so the log stays proportional to what is live', () => {
    const path = tempPath();
    const s = new FileStore(path);
    s.load();
    for (let i = 1; i <= 5000; i++) {
      s.put(msg(i));
      s.delete(i);
    }
    s.put(msg(9999));
    s.close();
    expect(statSync(path).size).toBeLessThan(70 * 1024);
    expect(new FileStore(path).load().map((m) => m.id)).toEqual([9999]);
  });

  it('says which file it could not use', () => {
    const dir = tempPath().replace(/outbox\.log$/, '');
    expect(() => new FileStore(dir).load()).toThrow(new RegExp(`outbox store ${dir}`));
  });
});
