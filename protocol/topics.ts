// The topic layout, in one place: <prefix>/<deviceId>/<kind>[/<sub>].
//   telemetry        CBOR samples              events/<name>  CBOR events (motion)
//   status           retained "online"/"offline"  cmd         CBOR commands to the device
//   ota/<sub>        OTA offer, request, block, status
//   info             retained CBOR identity (protocol/info.ts)   health  retained CBOR health
export class TopicError extends Error {
  override name = 'TopicError';
}

const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LEVEL = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TOPIC = 256;

export type TopicKind = 'telemetry' | 'status' | 'event' | 'cmd' | 'ota' | 'info' | 'health';

export interface ParsedTopic {
  deviceId: string;
  kind: TopicKind;
  /** Event name or OTA sub-topic. */
  sub?: string;
}

export class Topics {
  readonly prefix: string;
  private readonly depth: number;

  constructor(prefix = 'canopy') {
    const levels = prefix.split('/');
    for (const l of levels) if (!LEVEL.test(l)) throw new TopicError(`topic prefix level "${l}" must match [A-Za-z0-9_-]{1,64}`);
    this.prefix = prefix;
    this.depth = levels.length;
  }

  telemetry(id: string): string {
    return this.build(id, 'telemetry');
  }
  status(id: string): string {
    return this.build(id, 'status');
  }
  event(id: string, name: string): string {
    return this.build(id, 'events', name);
  }
  commands(id: string): string {
    return this.build(id, 'cmd');
  }
  ota(id: string, sub: string): string {
    return this.build(id, 'ota', sub);
  }
  info(id: string): string {
    return this.build(id, 'info');
  }
  health(id: string): string {
    return this.build(id, 'health');
  }

  /** Filters for a whole fleet. */
  telemetryFilter(): string {
    return `${this.prefix}/+/telemetry`;
  }
  statusFilter(): string {
    return `${this.prefix}/+/status`;
  }
  allFilter(): string {
    return `${this.prefix}/+/#`;
  }

  /** The device and kind of a topic in this layout, or null when it is not one of ours. */
  parse(topic: string): ParsedTopic | null {
    const l = topic.split('/');
    if (l.slice(0, this.depth).join('/') !== this.prefix) return null;
    const [deviceId, kind, sub, ...extra] = l.slice(this.depth);
    if (!deviceId || !DEVICE_ID.test(deviceId) || extra.length > 0) return null;
    if ((kind === 'telemetry' || kind === 'status' || kind === 'cmd' || kind === 'info' || kind === 'health') && sub === undefined) return { deviceId, kind };
    if ((kind === 'events' || kind === 'ota') && sub !== undefined && LEVEL.test(sub)) return { deviceId, kind: kind === 'events' ? 'event' : 'ota', sub };
    return null;
  }

  private build(id: string, kind: string, sub?: string): string {
    if (!DEVICE_ID.test(id)) throw new TopicError(`device id "${id}" must match [A-Za-z0-9_-]{1,64}`);
    if (sub !== undefined && !LEVEL.test(sub)) throw new TopicError(`topic level "${sub}" must match [A-Za-z0-9_-]{1,64}`);
    const t = sub === undefined ? `${this.prefix}/${id}/${kind}` : `${this.prefix}/${id}/${kind}/${sub}`;
    if (t.length > MAX_TOPIC) throw new TopicError(`topic "${t}" is longer than ${MAX_TOPIC} bytes`);
    return t;
  }
}
