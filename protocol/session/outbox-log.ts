// A flash-backed OutboxStore: the outbox as an append-only log of record.ts records laid over a
// ring of erase sectors, so QoS 1/2 messages survive a power cut on the device as they do in the
// simulator's FileStore. Pure: it sees flash only through FlashArea, which the firmware gets from
// Moddable's `flash` module (ESP32) or a file (lin), and which the tests fake.
//
// Sector := header (u32 magic, u32 sequence; big-endian), then records, then erased bytes (0xFF).
// A sector is opened by erasing it; its header goes out with its first write. Replay reads the
// sectors in sequence order and each one up to its first torn record.
//
// Wear. Every write only programs erased bytes; a sector is erased once per trip round the ring.
// Acks and the packet id of a QoS 1 message going in flight are deferred: they ride along with the
// next durable write, or are written together once `maxDeferred` of them wait. Losing them in a
// power cut loses nothing: the message is sent again, which QoS 1 allows, and a QoS 2 message was
// already in its PUBREL phase (that phase change is written at once). So a QoS 1 message costs one
// flash write (its enqueue, which carries the previous message's ack) and a share of an erase.
import type { OutboundMessage } from './message';
import type { OutboxStore } from './outbox';
import { decodeRecords, encodeRecord, type StoreRecord } from './record';

/** NOR flash as Moddable's `flash` class shows it (modules/files/flash); offsets are area-relative. */
export interface FlashArea {
  readonly byteLength: number;
  /** The erase sector, 4096 on ESP32. */
  readonly blockSize: number;
  read(offset: number, byteLength: number): ArrayBuffer;
  write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
  /** Sets every byte of sector `sector` (area-relative, in blocks) to 0xFF. */
  erase(sector: number): void;
}

export interface FlashOutboxOptions {
  /** Deferred acks and QoS 1 packet ids kept in RAM before they get a write of their own (16). */
  maxDeferred?: number;
  /** Largest record (a message plus 22 bytes) accepted; a quarter of a sector unless set. */
  maxRecordBytes?: number;
}

const MAGIC = 0x43424f58; // "CBOX"
const HEADER = 8;
/** record.ts framing of a put: length, op, id, flags, packet id, topic length, payload length, CRC. */
const RECORD_OVERHEAD = 22;

interface Live {
  message: OutboundMessage;
  /** The sector holding its latest durable put record. */
  sector: number;
  recordBytes: number;
}

export class FlashOutboxStore implements OutboxStore {
  readonly maxDeferred: number;
  readonly maxRecordBytes: number;
  /**
   * Bytes of live records the ring holds. With at most this much live, and one sector always
   * free, reclaiming the oldest sectors in turn frees room for any record within N - 1 reclaims:
   * every closed sector is filled to within one record of its end, so N - 2 closed sectors full of
   * live records would already hold more than this.
   */
  readonly capacity: number;
  private readonly area: FlashArea;
  private readonly sectors: number;
  private readonly usable: number;
  private seq: (number | undefined)[] = [];
  private clean: boolean[] = [];
  /** Sectors in use, oldest first; the last is the one being written. */
  private order: number[] = [];
  private offset = 0;
  private nextSeq = 1;
  private live = new Map<number, Live>();
  private liveRecordBytes = 0;
  private deferred = new Map<number, StoreRecord>();
  private loaded = false;

  constructor(area: FlashArea, options: FlashOutboxOptions = {}) {
    this.area = area;
    this.sectors = Math.floor(area.byteLength / area.blockSize);
    this.usable = area.blockSize - HEADER;
    this.maxDeferred = options.maxDeferred ?? 16;
    this.maxRecordBytes = options.maxRecordBytes ?? Math.floor(this.usable / 4);
    this.capacity = (this.sectors - 2) * (this.usable - this.maxRecordBytes);
    if (this.sectors < 3) throw new RangeError(`an outbox area needs at least 3 sectors of ${area.blockSize} bytes, not ${area.byteLength} bytes`);
    if (!(this.maxDeferred >= 1)) throw new RangeError('maxDeferred must be at least 1');
    if (!(this.maxRecordBytes >= 1 && this.maxRecordBytes < this.usable)) throw new RangeError(`maxRecordBytes must be less than ${this.usable}`);
  }

  /** Replays the ring: the messages that were stored and not deleted, oldest first. */
  load(): OutboundMessage[] {
    this.live.clear();
    this.deferred.clear();
    this.order = [];
    this.liveRecordBytes = 0;
    const found: { sector: number; seq: number; records: StoreRecord[]; sizes: number[]; end: number; tailErased: boolean }[] = [];
    for (let s = 0; s < this.sectors; s++) {
      const bytes = new Uint8Array(this.area.read(s * this.area.blockSize, this.area.blockSize));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.seq[s] = undefined;
      this.clean[s] = erased(bytes, 0);
      if (view.getUint32(0) !== MAGIC) continue;
      const { records, sizes, goodBytes } = decodeRecords(bytes.subarray(HEADER));
      const end = HEADER + goodBytes;
      found.push({ sector: s, seq: view.getUint32(4), records, sizes, end, tailErased: erased(bytes, end) });
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const f of found) {
      this.seq[f.sector] = f.seq;
      this.order.push(f.sector);
      f.records.forEach((r, i) => {
        if (r.op === 'delete') this.dropLive(r.id);
        else this.setLive(r.message, f.sector, f.sizes[i]);
      });
      this.nextSeq = f.seq + 1;
    }
    const last = found[found.length - 1];
    // Past a torn record the bytes are programmed: nothing more can go in that sector.
    this.offset = last && last.tailErased ? last.end : this.area.blockSize;
    if (this.order.length === this.sectors) {
      // A power cut inside a reclaim: its copy went into the newest sector, the oldest was not yet
      // erased. If the copy is whole, the oldest holds nothing live: finish its erase. If not, the
      // newest holds only copies of what the oldest still has: erase the newest and replay again.
      const oldest = this.order[0];
      let oldestLive = false;
      for (const e of this.live.values()) if (e.sector === oldest) oldestLive = true;
      this.area.erase(oldestLive ? this.current() : oldest);
      return this.load();
    }
    this.loaded = true;
    return [...this.live.values()].map((e) => ({ ...e.message })).sort((a, b) => a.id - b.id);
  }

  put(message: OutboundMessage): void {
    this.mustBeLoaded();
    const record = encodeRecord({ op: 'put', message });
    const old = this.live.get(message.id);
    const recordBytes = this.liveRecordBytes - (old ? old.recordBytes : 0) + record.length;
    if (record.length > this.maxRecordBytes) throw new RangeError(`a record of ${record.length} bytes exceeds the outbox store's ${this.maxRecordBytes}`);
    if (recordBytes > this.capacity) {
      throw new RangeError(`outbox store full: ${recordBytes} bytes of records, room for ${this.capacity}`);
    }
    const copy = { ...message };
    if (old && message.qos === 1 && message.packetId !== undefined) {
      // A QoS 1 message going in flight: the packet id may be lost (see the top of the file).
      // Its durable record stays where it is, and is the same size (the packet id is always encoded).
      this.setLive(copy, old.sector, old.recordBytes);
      this.defer({ op: 'put', message: copy });
      return;
    }
    this.deferred.delete(message.id); // what goes out now supersedes it, and goes after the rest
    this.deferred.set(message.id, { op: 'put', message: copy });
    this.flush();
  }

  delete(id: number): void {
    this.mustBeLoaded();
    const old = this.live.get(id);
    if (!old) return;
    this.dropLive(id);
    this.defer({ op: 'delete', id });
  }

  /** Writes what is deferred; for a clean shutdown, so that no acked message is sent again. */
  flush(): void {
    this.mustBeLoaded();
    const queue = [...this.deferred.values()].map((r) => ({ r, bytes: encodeRecord(r) }));
    this.deferred.clear();
    this.writeRecords(queue);
  }

  /**
   * Bounds for the Outbox in front of this store such that the store never overflows. Beyond the
   * Outbox's queue the store holds the session's in-flight window, and after a power cut up to
   * `maxDeferred` messages whose acks were lost; each of those is at most `maxRecordBytes`. A
   * queued message's record is at most 22 bytes plus 3 bytes per unit the Outbox counts (UTF-8).
   */
  outboxBounds(maxMessages: number, window: number): { maxMessages: number; maxBytes: number } {
    const maxBytes = Math.floor((this.capacity - (window + this.maxDeferred) * this.maxRecordBytes - RECORD_OVERHEAD * maxMessages) / 3);
    if (!(maxBytes >= 1)) throw new RangeError(`an outbox of ${maxMessages} messages and a window of ${window} do not fit ${this.capacity} bytes of flash records`);
    return { maxMessages, maxBytes };
  }

  /** Messages held, queued and in flight. */
  get size(): number {
    return this.live.size;
  }

  /** Records waiting in RAM for a write. */
  get deferredCount(): number {
    return this.deferred.size;
  }

  private defer(r: StoreRecord): void {
    this.deferred.set(r.op === 'put' ? r.message.id : r.id, r);
    if (this.deferred.size >= this.maxDeferred) this.flush();
  }

  /** Appends records in order, in as few writes as the sector boundaries allow. */
  private writeRecords(queue: { r: StoreRecord; bytes: Uint8Array }[]): void {
    let i = 0;
    let opens = 0;
    while (i < queue.length) {
      if (this.offset + queue[i].bytes.length > this.area.blockSize) {
        if (++opens > 2 * this.sectors) throw new Error('outbox store: no sector could be reclaimed');
        this.openSector();
        continue;
      }
      const start = this.offset;
      const first = start === 0;
      let end = first ? HEADER : start;
      let j = i;
      while (j < queue.length && end + queue[j].bytes.length <= this.area.blockSize) end += queue[j++].bytes.length;
      const out = new Uint8Array(end - start);
      let o = 0;
      if (first) {
        const view = new DataView(out.buffer);
        view.setUint32(0, MAGIC);
        view.setUint32(4, this.seq[this.current()]!);
        o = HEADER;
      }
      for (let k = i; k < j; k++) {
        out.set(queue[k].bytes, o);
        o += queue[k].bytes.length;
      }
      this.area.write(this.current() * this.area.blockSize + start, out.length, out.buffer);
      this.clean[this.current()] = false;
      this.offset = end;
      // A put on its way out is always its message's latest version: a later delete replaces it.
      for (let k = i; k < j; k++) {
        const { r, bytes } = queue[k];
        if (r.op === 'put') this.setLive(r.message, this.current(), bytes.length);
      }
      i = j;
    }
  }

  private current(): number {
    return this.order[this.order.length - 1];
  }

  /** Starts the next free sector in ring order; reclaims the oldest when that leaves none free. */
  private openSector(): void {
    const from = this.order.length ? this.current() + 1 : 0;
    let s = -1;
    for (let k = 0; k < this.sectors && s < 0; k++) {
      const c = (from + k) % this.sectors;
      if (this.seq[c] === undefined) s = c;
    }
    if (s < 0) throw new Error('outbox store: no free sector');
    if (!this.clean[s]) this.area.erase(s);
    this.clean[s] = false;
    this.seq[s] = this.nextSeq++;
    this.order.push(s);
    this.offset = 0;
    if (this.order.length === this.sectors) this.reclaimOldest();
  }

  /**
   * Copies the oldest sector's live messages into the (fresh) current one, then erases it. They
   * fit: they came from one sector. The copy is durable before the erase starts, and an erase cut
   * short leaves records that newer sectors override.
   */
  private reclaimOldest(): void {
    const oldest = this.order.shift()!;
    const moving = [...this.live.values()].filter((e) => e.sector === oldest).sort((a, b) => a.message.id - b.message.id);
    const queue = moving.map((e) => {
      this.deferred.delete(e.message.id);
      const r: StoreRecord = { op: 'put', message: e.message };
      return { r, bytes: encodeRecord(r) };
    });
    this.writeRecords(queue);
    this.area.erase(oldest);
    this.seq[oldest] = undefined;
    this.clean[oldest] = true;
  }

  private setLive(message: OutboundMessage, sector: number, recordBytes: number): void {
    this.dropLive(message.id);
    this.live.set(message.id, { message, sector, recordBytes });
    this.liveRecordBytes += recordBytes;
  }

  private dropLive(id: number): void {
    const old = this.live.get(id);
    if (!old) return;
    this.live.delete(id);
    this.liveRecordBytes -= old.recordBytes;
  }

  private mustBeLoaded(): void {
    if (!this.loaded) throw new Error('outbox store used before load()');
  }
}

function erased(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0xff) return false;
  return true;
}
