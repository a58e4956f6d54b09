// The firmware's flash outbox (protocol/session/outbox-log.ts) on a simulated NOR flash: replay
// after reboot, torn writes and erases, bounds, the ring's wear, and the same story on XS.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { OutboundMessage } from '../protocol/session/message.ts';
import { Outbox } from '../protocol/session/outbox.ts';
import { FlashOutboxStore, type FlashOutboxOptions } from '../protocol/session/outbox-log.ts';
import { encodeRecord } from '../protocol/session/record.ts';
import { NorFlash, PowerCut } from './support/nor-flash.ts';
import { outboxLogTranscript, telemetry, wear } from './support/outbox-log-script.ts';
import { runOnXs } from './support/run-on-xs.ts';
import { openOutboxStore } from '../device/platform/moddable/outbox-store.ts';

/** As the firmware opens it (device/platform/moddable/outbox-store.ts). */
const deviceOptions: FlashOutboxOptions = { maxRecordBytes: 512 };

const msg = (id: number, extra: Partial<OutboundMessage> = {}): OutboundMessage => ({ ...telemetry(id), id, ...extra });

function boot(flash: NorFlash, options: FlashOutboxOptions = {}): { store: FlashOutboxStore; loaded: OutboundMessage[] } {
  flash.reboot();
  const store = new FlashOutboxStore(flash, options);
  return { store, loaded: store.load() };
}

const ids = (ms: OutboundMessage[]) => ms.map((m) => m.id);

describe('FlashOutboxStore', () => {
  it('replays puts, packet ids, QoS 2 phases and deletes after a reboot', () => {
    const flash = new NorFlash(4);
    let { store, loaded } = boot(flash);
    expect(loaded).toEqual([]);
    for (let id = 1; id <= 5; id++) store.put(msg(id, { qos: id === 4 ? 2 : 1 }));
    store.put(msg(4, { qos: 2, packetId: 9, phase: 'pubrel' }));
    store.delete(2);
    store.flush();
    ({ store, loaded } = boot(flash));
    expect(loaded).toEqual([msg(1), msg(3), msg(4, { qos: 2, packetId: 9, phase: 'pubrel' }), msg(5)]);
  });

  it('restores the Outbox after a power cut: queued messages again, in-flight ones for resend', () => {
    const flash = new NorFlash(16);
    const { store } = boot(flash, deviceOptions);
    const outbox = new Outbox({ ...store.outboxBounds(64, 16), store });
    for (let n = 0; n < 5; n++) outbox.add({ ...telemetry(n), qos: n === 1 ? 2 : 1 });
    const first = outbox.take()!;
    const second = outbox.take()!;
    Object.assign(first, { packetId: 1, phase: 'publish' });
    Object.assign(second, { packetId: 2, phase: 'publish' });
    outbox.update(second); // QoS 2: written at once
    outbox.update(first); // QoS 1: deferred
    // power cut here
    const again = boot(flash, deviceOptions).store;
    const after = new Outbox({ ...again.outboxBounds(64, 16), store: again });
    const inflight = after.restore();
    expect(inflight.map((m) => [m.id, m.packetId])).toEqual([[2, 2]]);
    // The QoS 1 message's packet id was deferred and is lost: it is queued again, and sent anew.
    expect([after.take(), after.take(), after.take(), after.take()].map((m) => m?.id)).toEqual([1, 3, 4, 5]);
  });

  it('a power cut mid-write loses only the torn record, at every byte of it', () => {
    const record = encodeRecord({ op: 'put', message: msg(3) }).length;
    for (const garble of [false, true]) {
      for (let keep = 0; keep < record; keep++) {
        const flash = new NorFlash(4);
        let { store } = boot(flash);
        store.put(msg(1));
        store.put(msg(2));
        flash.cutPower({ after: 0, keep, garble });
        expect(() => store.put(msg(3))).toThrow(PowerCut);
        let loaded;
        ({ store, loaded } = boot(flash));
        expect(ids(loaded), `keep ${keep}`).toEqual([1, 2]);
        // The store goes on appending past the torn bytes, and all of it replays.
        store.put(msg(4));
        store.delete(1);
        store.flush();
        expect(ids(boot(flash).loaded), `keep ${keep}`).toEqual([2, 4]);
      }
    }
  });

  it('a torn first write of a sector (its header) loses only that write', () => {
    const flash = new NorFlash(4, 256);
    const options = { maxRecordBytes: 100 };
    let { store } = boot(flash, options);
    const record = encodeRecord({ op: 'put', message: msg(1) }).length;
    const perSector = Math.floor((256 - 8) / record);
    for (let id = 1; id <= perSector; id++) store.put(msg(id));
    flash.cutPower({ after: 0, keep: 5, garble: true });
    expect(() => store.put(msg(perSector + 1))).toThrow(PowerCut);
    let loaded;
    ({ store, loaded } = boot(flash, options));
    expect(loaded.length).toBe(perSector);
    store.put(msg(99));
    expect(ids(boot(flash, options).loaded)).toEqual([...ids(loaded), 99]);
  });

  it('never loses a live message nor invents one, whatever write or erase a power cut hits', () => {
    type Op = { kind: 'add' } | { kind: 'send'; qos2: boolean } | { kind: 'ack' } | { kind: 'flush' };
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.constant<Op>({ kind: 'add' }) },
      { weight: 2, arbitrary: fc.boolean().map<Op>((qos2) => ({ kind: 'send', qos2 })) },
      { weight: 3, arbitrary: fc.constant<Op>({ kind: 'ack' }) },
      { weight: 1, arbitrary: fc.constant<Op>({ kind: 'flush' }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 160 }), fc.nat(400), fc.nat(600), fc.boolean(), fc.integer({ min: 1, max: 100 }), (ops, cutAt, keep, garble, topicLength) => {
        // 12 messages of up to 146-byte records always fit the 6 × 304 bytes of capacity.
        const flash = new NorFlash(8, 512);
        const options = { maxDeferred: 5, maxRecordBytes: 200 };
        const maxMessages = 12;
        let { store } = boot(flash, options);
        const everPut = new Map<number, OutboundMessage[]>();
        const live = new Map<number, OutboundMessage>();
        let nextId = 1;
        flash.cutPower({ after: cutAt, keep, garble });
        let cut = false;
        const put = (m: OutboundMessage) => {
          store.put(m);
          live.set(m.id, m);
        };
        try {
          for (const o of ops) {
            if (o.kind === 'add') {
              if (live.size >= maxMessages) continue;
              const m = { ...msg(nextId++), topic: 't'.repeat(topicLength) };
              everPut.set(m.id, [m]);
              put(m);
            } else if (o.kind === 'send') {
              const m = [...live.values()].find((x) => x.packetId === undefined);
              if (!m) continue;
              const sent = { ...m, qos: (o.qos2 ? 2 : 1) as 1 | 2, packetId: m.id, phase: o.qos2 ? ('pubrel' as const) : ('publish' as const) };
              everPut.get(m.id)!.push(sent);
              put(sent);
            } else if (o.kind === 'ack') {
              const m = live.values().next().value;
              if (!m) continue;
              store.delete(m.id);
              live.delete(m.id);
            } else store.flush();
          }
        } catch (err) {
          if (!(err instanceof PowerCut)) throw err;
          cut = true;
        }
        const loaded = boot(flash, options).loaded;
        for (const m of loaded) expect(everPut.get(m.id), `invented ${m.id}`).toContainEqual(m);
        const back = new Set(ids(loaded));
        // A message whose first put was cut may be gone; every other live one must be back.
        const lastAdded = nextId - 1;
        for (const id of live.keys()) if (!(cut && id === lastAdded)) expect(back.has(id), `lost ${id}`).toBe(true);
        // Without a cut, after a flush, the flash says exactly what the store said.
        if (!cut) {
          store.flush();
          expect(boot(flash, options).loaded).toEqual([...live.values()].sort((a, b) => a.id - b.id));
        }
        // And the rebooted store goes on: a new message is written and replayed.
        ({ store } = boot(flash, options));
        const before = ids(store.load());
        const room = before.length < maxMessages;
        if (room) store.put({ ...msg(1000), topic: 't'.repeat(topicLength) });
        expect(ids(boot(flash, options).loaded)).toEqual(room ? [...before, 1000] : before);
      }),
      { numRuns: 300 },
    );
  });

  it('survives a power cut at every write and erase of a run that reclaims sectors', () => {
    const options = { maxDeferred: 2, maxRecordBytes: 100 };
    // Three live messages of 73-byte records on four 256-byte sectors: the oldest sector still
    // holds a live message each time it is reclaimed, so the copies and erases are all exercised.
    const run = (flash: NorFlash, live: Map<number, OutboundMessage>) => {
      const store = new FlashOutboxStore(flash, options);
      store.load();
      for (let id = 1; id <= 30; id++) {
        live.set(id, msg(id));
        store.put(msg(id));
        if (id > 3) {
          store.delete(id - 3);
          live.delete(id - 3);
        }
      }
    };
    const clean = new NorFlash(4, 256);
    run(clean, new Map());
    const ops = clean.writes + clean.erases;
    expect(clean.erases).toBeGreaterThan(4);
    for (let after = 0; after < ops; after++) {
      for (const keep of [0, 8, 80, 256]) {
        const flash = new NorFlash(4, 256);
        const live = new Map<number, OutboundMessage>();
        flash.cutPower({ after, keep, garble: true });
        expect(() => run(flash, live)).toThrow(PowerCut);
        const { store, loaded } = boot(flash, options);
        const cutId = Math.max(...live.keys());
        for (const m of loaded) expect(m).toEqual(msg(m.id));
        for (const id of live.keys()) if (id !== cutId) expect(ids(loaded), `cut at ${after}/${keep}`).toContain(id);
        // What came back is sent again and acked; then the store takes new messages.
        for (const m of loaded) store.delete(m.id);
        store.put(msg(100));
        expect(ids(boot(flash, options).loaded)).toEqual([100]);
      }
    }
  });

  it('holds records up to maxRecordBytes within its capacity, and sizes the Outbox to fit', () => {
    const store = boot(new NorFlash(3, 512)).store;
    expect(store.maxRecordBytes).toBe(126);
    expect(store.capacity).toBe(504 - 126);
    expect(() => store.put({ ...msg(50), payload: new Uint8Array(100) })).toThrow(/a record of 149 bytes exceeds the outbox store's 126/);
    for (let id = 51; id <= 53; id++) store.put({ ...msg(id), payload: new Uint8Array(70) });
    expect(() => store.put({ ...msg(54), payload: new Uint8Array(70) })).toThrow(/outbox store full: 476 bytes of records, room for 378/);
    store.put({ ...msg(53), payload: new Uint8Array(70), packetId: 1, phase: 'publish' }); // an update takes no more room
    expect(store.size).toBe(3);
    expect(() => store.outboxBounds(4, 16)).toThrow(/do not fit 378 bytes/);
    expect(() => new FlashOutboxStore(new NorFlash(2))).toThrow(/at least 3 sectors/);
    expect(() => new FlashOutboxStore(new NorFlash(3)).put(msg(1))).toThrow(/before load/);
    // The firmware's store: a 64 KB partition, records up to 512 bytes, 64 queued + 16 in flight.
    const device = openOutboxStore(new NorFlash(16));
    device.load();
    expect(device.maxRecordBytes).toBe(deviceOptions.maxRecordBytes);
    expect(device.capacity).toBe(14 * (4088 - 512));
    expect(device.outboxBounds(64, 16)).toEqual({ maxMessages: 64, maxBytes: 10757 });
  });

  it('never overflows behind an Outbox sized by outboxBounds, offline, in flight and after power cuts', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ payload: fc.nat(80), sends: fc.nat(3), acks: fc.nat(3), cut: fc.nat(40) }), { maxLength: 80 }), (steps) => {
        const flash = new NorFlash(6, 512);
        const options = { maxDeferred: 3, maxRecordBytes: 126 };
        let store = boot(flash, options).store;
        const window = 2;
        let outbox = new Outbox({ ...store.outboxBounds(4, window), store });
        let inflight: OutboundMessage[] = outbox.restore();
        let packetId = 1;
        for (const step of steps) {
          try {
            if (step.cut === 0) flash.cutPower({ after: 0, keep: 10 });
            const topic = 'canopy/d/t';
            if (topic.length + step.payload <= outbox.maxBytes) outbox.add({ topic, payload: new Uint8Array(step.payload), qos: 1, retain: false });
            for (let k = 0; k < step.sends && inflight.length < window; k++) {
              const m = outbox.take();
              if (!m) break;
              Object.assign(m, { packetId: packetId++, phase: 'publish' });
              outbox.update(m);
              inflight.push(m);
            }
            for (let k = 0; k < step.acks && inflight.length; k++) outbox.complete(inflight.shift()!);
          } catch (err) {
            if (!(err instanceof PowerCut)) throw err;
            store = boot(flash, options).store;
            outbox = new Outbox({ ...store.outboxBounds(4, window), store });
            inflight = outbox.restore();
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('costs one flash write per QoS 1 message online, and spreads erases over the ring', () => {
    const online = wear({ messages: 10_000 });
    const record = encodeRecord({ op: 'put', message: msg(1) }).length + encodeRecord({ op: 'delete', id: 1 }).length;
    expect(record).toBe(73 + 13);
    // At a sector boundary a write splits in two: about one extra write per 50 messages.
    expect(online.writes / online.messages).toBeLessThan(1.03);
    expect(online.bytesWritten / online.messages).toBeLessThan(record + 1);
    // One 4 KB erase per ~50 messages, and every sector erased as often as the others (±1).
    expect(online.messages / online.erases).toBeGreaterThan(45);
    expect(online.sectorErases[1] - online.sectorErases[0]).toBeLessThanOrEqual(1);
    // Queued offline and drained at reconnect: one write per message, acks 16 to a write.
    const offline = wear({ messages: 6400, offlineBurst: 64 });
    expect(offline.writes / offline.messages).toBeLessThan(1 + 1 / 16 + 0.01);
  });

  it('tells the same story on XS as on Node', async () => {
    const node = outboxLogTranscript();
    expect(node[0]).toBe('load: ');
    expect(node).toContain('put 41: power cut');
    expect(await runOnXs('test/support/outbox-log-script.ts', 'outboxLogTranscript')).toEqual(node);
  });
});
