// The live feed: one WebSocket to the console, reconnecting with backoff, holding the latest row
// per device and rollout so a page mounted later starts from the current state.
import type { Sample } from '../../protocol/telemetry.ts';
export interface Row {
  id: string;
  liveness: 'online' | 'stale' | 'offline' | 'unknown';
  lastSeen: string | null;
  offlineSince: string | null;
  staleSince: string | null;
  firmwareVersion: string | null;
  otaSeq: number | null;
  ota: { state: string; reason: string; seq: number; detail?: string } | null;
  health: { intervalMs?: number; dropped?: number; uptime?: number; rssi?: number; outboxDepth?: number } | null;
  lastSample: Sample | null;
  lastSampleAt: string | null;
  errors: { dht: number; decode: number; dropped: number };
  lastError?: string;
}

/** The sensor-node sample as the server sends it: protocol/telemetry.ts's one definition. */
export type { Sample };

export interface DeviceProgress {
  state: string;
  done: number;
  total: number;
  group: number;
  reason?: string;
  detail?: string;
}

export interface Rollout {
  id: number;
  package: string;
  packageName: string;
  request: { fleet: string; canary: number; growth: number; haltPercent: number; timeoutS: number };
  fleet: string[];
  state: 'running' | 'halting' | 'halted' | 'finished' | 'failed';
  groups: string[][];
  group: number;
  devices: Record<string, DeviceProgress>;
  halt?: string;
  error?: string;
  summary?: { confirmed: number; notConfirmed: string[]; untouched: string[] };
}

type Listener = (kind: 'rows' | 'sample' | 'rollout' | 'link', data?: unknown) => void;

export class Feed {
  readonly rows = new Map<string, Row>();
  readonly rollouts = new Map<number, Rollout>();
  /** Server clock minus browser clock, ms. */
  skew = 0;
  connected = false;
  private readonly listeners = new Set<Listener>();
  private backoff = 250;

  constructor() {
    this.connect();
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(kind: Parameters<Listener>[0], data?: unknown): void {
    for (const l of this.listeners) l(kind, data);
  }

  private connect(): void {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws.onopen = () => {
      this.backoff = 250;
      this.connected = true;
      this.emit('link');
    };
    ws.onclose = () => {
      this.connected = false;
      this.emit('link');
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data));
      if (typeof msg.now === 'number') this.skew = msg.now - Date.now();
      if (msg.type === 'hello') {
        this.rows.clear();
        for (const r of msg.rows as Row[]) this.rows.set(r.id, r);
        for (const r of msg.rollouts as Rollout[]) this.rollouts.set(r.id, r);
        this.emit('rows');
        this.emit('rollout');
      } else if (msg.type === 'rows') {
        for (const r of msg.rows as Row[]) this.rows.set(r.id, r);
        this.emit('rows');
      } else if (msg.type === 'sample') {
        this.emit('sample', msg);
      } else if (msg.type === 'rollout') {
        this.rollouts.set(msg.rollout.id, msg.rollout);
        this.emit('rollout', msg.rollout);
      }
    };
  }
}
