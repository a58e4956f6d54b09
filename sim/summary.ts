// What a simulation run keeps to check its assertions: per-device sets of sequence numbers held as
// ranges, counters, and the first few problems. Its size follows the number of devices, gaps and
// faults, never the number of messages (a 30-minute, 500-device run used to keep every observation,
// ~280 B each). The observations themselves go by once, to --json and the live view.
import type { Observation } from './observer.ts';

/** A set of whole numbers as sorted, disjoint, non-adjacent [start, end] ranges. */
export class RangeSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Ranges held: what this set costs in memory. */
  get ranges(): number {
    return this.starts.length;
  }

  /** Members held. */
  get size(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += this.ends[i] - this.starts[i] + 1;
    return n;
  }

  /** Adds n; false when it was already in. */
  add(n: number): boolean {
    const { starts, ends } = this;
    const last = ends.length - 1;
    // Sequence numbers arrive mostly in order: extending the last range is the common case.
    if (last >= 0 && n === ends[last] + 1) {
      ends[last] = n;
      return true;
    }
    const i = this.indexAfter(n); // first range starting after n
    if (i > 0 && n <= ends[i - 1]) return false;
    const joinsLeft = i > 0 && ends[i - 1] === n - 1;
    const joinsRight = i < starts.length && starts[i] === n + 1;
    if (joinsLeft && joinsRight) {
      ends[i - 1] = ends[i];
      starts.splice(i, 1);
      ends.splice(i, 1);
    } else if (joinsLeft) ends[i - 1] = n;
    else if (joinsRight) starts[i] = n;
    else {
      starts.splice(i, 0, n);
      ends.splice(i, 0, n);
    }
    return true;
  }

  has(n: number): boolean {
    const i = this.indexAfter(n);
    return i > 0 && n <= this.ends[i - 1];
  }

  /** Members of this set that `other` lacks, in order, up to `limit` listed, with their total. */
  minus(other: RangeSet, limit: number): { count: number; first: number[] } {
    let count = 0;
    const first: number[] = [];
    for (let r = 0; r < this.starts.length; r++) {
      for (let n = this.starts[r]; n <= this.ends[r]; ) {
        const j = other.indexAfter(n);
        if (j > 0 && n <= other.ends[j - 1]) {
          n = other.ends[j - 1] + 1; // skip the covered stretch at once
          continue;
        }
        const stop = Math.min(this.ends[r], j < other.starts.length ? other.starts[j] - 1 : Infinity);
        count += stop - n + 1;
        for (let k = n; k <= stop && first.length < limit; k++) first.push(k);
        n = stop + 1;
      }
    }
    return { count, first };
  }

  /** Members of both sets, up to `limit` listed, with their total. */
  and(other: RangeSet, limit: number): { count: number; first: number[] } {
    let count = 0;
    const first: number[] = [];
    let j = 0;
    for (let r = 0; r < this.starts.length; r++) {
      while (j < other.starts.length && other.ends[j] < this.starts[r]) j++;
      for (let k = j; k < other.starts.length && other.starts[k] <= this.ends[r]; k++) {
        const lo = Math.max(this.starts[r], other.starts[k]);
        const hi = Math.min(this.ends[r], other.ends[k]);
        count += hi - lo + 1;
        for (let n = lo; n <= hi && first.length < limit; n++) first.push(n);
      }
    }
    return { count, first };
  }

  private indexAfter(n: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A partition of some devices from startMs to endMs of device time. */
export interface PartitionWindow {
  devices: string[];
  startMs: number;
  endMs: number;
}

/** One declared field's readings over the run (bounded: the first few values are kept). */
export interface FieldTally {
  readings: number;
  nulls: number;
  min: number;
  max: number;
  /** Up to 64 distinct values. */
  values: Set<number | boolean>;
  /** The first readings with their device, to name where a range was left. */
  first: { device: string; seq: number; value: number | boolean }[];
}

/** One device's part of the summary. */
export interface DeviceTally {
  /** QoS 1/2 samples the firmware produced, and those at QoS 2. */
  producedQos12: RangeSet;
  producedQos2: RangeSet;
  /** Telemetry seqs seen at the broker, and those seen more than once. */
  seen: RangeSet;
  seenAgain: RangeSet;
  /** Telemetry messages seen, duplicates included. */
  telemetry: number;
}

/** Kept per (partition, device): the first "online" and "offline" seen at or after each edge. */
interface WindowWatch {
  window: PartitionWindow;
  /** device → status → first time at or after the start / the end. */
  afterStart: Map<string, Map<string, number>>;
  afterEnd: Map<string, Map<string, number>>;
}

/** How many problems of each kind are listed by name; the rest are counted. */
export const MAX_LISTED = 5;

export class RunSummary {
  readonly devices = new Map<string, DeviceTally>();
  readonly windows: WindowWatch[] = [];
  motionEvents = 0;
  decodeErrors = 0;
  readonly firstDecodeErrors: string[] = [];
  /** An app's declared fields (`canopy sim --app`), over the fleet: what the assertions on fields read. */
  readonly fields = new Map<string, FieldTally>();

  private noteFields(device: string, record: Record<string, unknown>): void {
    for (const [name, v] of Object.entries(record)) {
      if (name === 'seq' || name === 'ts' || name === 'schema') continue;
      let f = this.fields.get(name);
      if (!f) this.fields.set(name, (f = { readings: 0, nulls: 0, min: Infinity, max: -Infinity, values: new Set(), first: [] }));
      if (v === null || v === undefined) {
        f.nulls++;
        continue;
      }
      f.readings++;
      if (typeof v === 'number') {
        f.min = Math.min(f.min, v);
        f.max = Math.max(f.max, v);
      }
      if (f.values.size < 64) f.values.add(v as number | boolean);
      if (f.first.length < 256) f.first.push({ device, seq: record.seq as number, value: v as number | boolean });
    }
  }

  tally(device: string): DeviceTally {
    let t = this.devices.get(device);
    if (!t) {
      t = { producedQos12: new RangeSet(), producedQos2: new RangeSet(), seen: new RangeSet(), seenAgain: new RangeSet(), telemetry: 0 };
      this.devices.set(device, t);
    }
    return t;
  }

  /** The firmware says it produced sample `seq` at `qos`. */
  produced(device: string, seq: number, qos: number): void {
    if (qos === 0) return;
    const t = this.tally(device);
    t.producedQos12.add(seq);
    if (qos === 2) t.producedQos2.add(seq);
  }

  addPartition(window: PartitionWindow): void {
    this.windows.push({ window, afterStart: new Map(), afterEnd: new Map() });
  }

  observe(o: Observation): void {
    switch (o.kind) {
      case 'telemetry': {
        const t = this.tally(o.device);
        t.telemetry++;
        if (!t.seen.add(o.sample.seq)) t.seenAgain.add(o.sample.seq);
        return;
      }
      case 'record': {
        // An app's own telemetry (`canopy sim --app`): counted and checked as the sensor-node's.
        const t = this.tally(o.device);
        t.telemetry++;
        if (!t.seen.add(o.record.seq as number)) t.seenAgain.add(o.record.seq as number);
        this.noteFields(o.device, o.record);
        return;
      }
      case 'motion':
        this.motionEvents++;
        return;
      case 'decode-error':
        this.decodeErrors++;
        if (this.firstDecodeErrors.length < MAX_LISTED) this.firstDecodeErrors.push(`${o.device} ${o.topic}: ${o.message}`);
        return;
      case 'status':
        for (const w of this.windows) {
          if (!w.window.devices.includes(o.device)) continue;
          note(w.afterStart, o.device, o.status, o.at, w.window.startMs);
          note(w.afterEnd, o.device, o.status, o.at, w.window.endMs);
        }
    }
  }

  /** QoS 1/2 samples produced and not (yet) seen, over all devices. */
  missing(): number {
    let n = 0;
    for (const t of this.devices.values()) n += t.producedQos12.minus(t.seen, 0).count;
    return n;
  }

  /** Entries held (ranges, windows, listed errors): what must stay flat as messages go by. */
  retained(): number {
    let n = this.firstDecodeErrors.length;
    for (const t of this.devices.values()) n += 1 + t.producedQos12.ranges + t.producedQos2.ranges + t.seen.ranges + t.seenAgain.ranges;
    for (const w of this.windows) n += 1 + w.afterStart.size + w.afterEnd.size;
    return n;
  }

  /** The first time `status` was seen for `device` at or after the window's start (or end). */
  firstStatus(w: WindowWatch, edge: 'start' | 'end', device: string, status: string): number | undefined {
    return (edge === 'start' ? w.afterStart : w.afterEnd).get(device)?.get(status);
  }
}

function note(by: Map<string, Map<string, number>>, device: string, status: string, at: number, from: number): void {
  if (at < from) return;
  let m = by.get(device);
  if (!m) by.set(device, (m = new Map()));
  if (!m.has(status)) m.set(status, at);
}
