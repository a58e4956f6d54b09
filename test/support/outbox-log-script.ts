// Scenarios of the flash outbox on a simulated NOR flash, pure TS so they run on Node and XS alike.
import type { OutboundMessage } from '../../protocol/session/message';
import { Outbox } from '../../protocol/session/outbox';
import { FlashOutboxStore } from '../../protocol/session/outbox-log';
import { NorFlash } from './nor-flash';

/** A telemetry sample as the device publishes it: 27-byte topic, 24-byte CBOR payload, QoS 1. */
export function telemetry(n: number): Omit<OutboundMessage, 'id'> {
  const payload = new Uint8Array(24);
  for (let i = 0; i < payload.length; i++) payload[i] = (n * 31 + i) & 0xff;
  return { topic: 'canopy/canopy-dev/telemetry', payload, qos: 1, retain: false };
}

export interface WearFigures {
  messages: number;
  writes: number;
  erases: number;
  bytesWritten: number;
  /** Least and most erases of any one sector. */
  sectorErases: [number, number];
}

/**
 * Drives an Outbox over the flash store the way the Session does for QoS 1 online: add (put),
 * take and go in flight with a packet id (update), PUBACK (complete). `offlineBurst` messages are
 * queued while offline before each drain.
 */
export function wear(options: { messages: number; offlineBurst?: number; sectors?: number }): WearFigures {
  const flash = new NorFlash(options.sectors ?? 16);
  const store = new FlashOutboxStore(flash, { maxRecordBytes: 512 });
  store.load();
  const outbox = new Outbox({ ...store.outboxBounds(64, 16), store });
  const burst = options.offlineBurst ?? 1;
  let packetId = 0;
  for (let n = 0; n < options.messages; ) {
    for (let k = 0; k < burst && n < options.messages; k++) outbox.add(telemetry(n++));
    for (let m = outbox.take(); m; m = outbox.take()) {
      m.packetId = (packetId++ % 65535) + 1;
      m.phase = 'publish';
      outbox.update(m);
      outbox.complete(m);
    }
  }
  const e = flash.erasesPerSector;
  return { messages: options.messages, writes: flash.writes, erases: flash.erases, bytesWritten: flash.bytesWritten, sectorErases: [Math.min(...e), Math.max(...e)] };
}

/** A fixed story with two reboots and a torn write, told as lines; the same on every engine. */
export function outboxLogTranscript(): string[] {
  const lines: string[] = [];
  const flash = new NorFlash(6, 512);
  const open = () => {
    flash.reboot();
    const store = new FlashOutboxStore(flash, { maxDeferred: 4 });
    const loaded = store.load();
    lines.push(`load: ${loaded.map((m) => `${m.id}${m.packetId ? `#${m.packetId}${m.phase === 'pubrel' ? 'r' : ''}` : ''}`).join(' ')}`);
    return store;
  };
  let store = open();
  const msg = (id: number, extra: Partial<OutboundMessage> = {}): OutboundMessage => ({ ...telemetry(id), id, ...extra });
  for (let id = 1; id <= 12; id++) store.put(msg(id, { qos: id % 3 === 0 ? 2 : 1 }));
  store.put(msg(3, { qos: 2, packetId: 7, phase: 'pubrel' }));
  store.put(msg(4, { packetId: 8, phase: 'publish' }));
  for (const id of [1, 2, 5]) store.delete(id);
  lines.push(`writes ${flash.writes} erases ${flash.erases} deferred ${store.deferredCount}`);
  store = open();
  for (let id = 13; id <= 40; id++) {
    store.put(msg(id));
    store.delete(id - 1);
  }
  store.flush();
  lines.push(`writes ${flash.writes} erases ${flash.erases} sectors ${flash.erasesPerSector.join(',')}`);
  store = open();
  flash.cutPower({ after: 0, keep: 20, garble: true });
  try {
    store.put(msg(41));
  } catch (err) {
    lines.push(`put 41: ${(err as Error).message}`);
  }
  store = open();
  store.put(msg(42));
  store = open();
  return lines;
}
