// A fleet of simulated devices: builds each device on the chosen engine with its own sensor model
// and, when faults are wanted, its own fault proxy in front of the broker (so one device can be
// partitioned while the others carry on). Faults and power loss are methods here; sim/runner.ts
// schedules them from a scenario's timeline.
import { simulatorProgram } from '../host/xs/program.ts';
import { XsDevice } from './xs-device.ts';
import type { Clock } from '../host/xs/timers.ts';
import type { SimDevice, SimDeviceEvent } from './sim-device.ts';
import { FaultProxy } from './fault-proxy.ts';
import { SensorModel } from './models.ts';
import { StoredFlash } from './device-state.ts';
import { setDeviceTrust } from '../host/device-socket.ts';
import { readPem } from '../host/transport.ts';
import { formatBrokerUrl } from '../protocol/broker-url.ts';
import { NodeDevice } from './node-device.ts';
import type { SimApp } from './app.ts';
import { FieldModels } from './field-models.ts';
import type { DeviceGroup } from './scenario.ts';
import { parseBrokerUrl } from '../protocol/broker-url.ts';
import type { DeviceIdentity, NetActivity } from '../host/device-socket.ts';
import type { ProvisionedIdentity } from '../host/client-identity.ts';

export interface FleetMember {
  id: string;
  group: DeviceGroup;
  device: SimDevice;
  model: SensorModel;
  proxy?: FaultProxy;
}

export interface FleetOptions {
  engine: 'xs' | 'node';
  groups: DeviceGroup[];
  brokerUrl: string;
  /** PEM CA file for an mqtts:// broker; default: the system's roots, as the firmware has its own. */
  caFile?: string;
  /** Flash and NVS of each device in files under this directory (sim/device-state.ts). */
  stateDir?: string;
  clock: Clock;
  seed: number;
  epoch: number;
  /** Put a fault proxy in front of each device. */
  proxies: boolean;
  topicPrefix?: string;
  /** Run only this slice of the fleet's device ids: index i of `count` processes. */
  shard?: { index: number; count: number };
  onDeviceEvent?: (device: string, e: SimDeviceEvent) => void;
  /** Extra config for every device, e.g. OTA vendor, class and trust store. */
  deviceConfig?: Record<string, unknown>;
  /** Where the devices' and proxies' traffic counts (the run's, for virtual time). */
  activity?: NetActivity;
  /**
   * Provisioned devices (`canopy provision`), in order: device n of the groups takes the n-th one's
   * id, client certificate and key, and its MQTT password if it has one, instead of the broker
   * URL's login.
   */
  identities?: ProvisionedIdentity[];
  /** The client certificate and key every device without a provisioned identity presents (sim --cert/--key). */
  sharedIdentity?: DeviceIdentity;
  /** Run this app (`canopy sim --app DIR`, sim/app.ts) instead of the built-in sensor-node. */
  app?: SimApp;
}

/** The firmware for the XS engine (its modules under their manifest names), built once per process. */
export async function deviceBundleCode(): Promise<string> {
  return (await simulatorProgram()).code;
}

/** Every device id of the groups, in order: `${prefix}-${n}`. */
export function deviceIds(groups: DeviceGroup[]): { id: string; group: DeviceGroup; index: number }[] {
  const out: { id: string; group: DeviceGroup; index: number }[] = [];
  for (const group of groups) for (let n = 1; n <= group.count; n++) out.push({ id: `${group.prefix}-${n}`, group, index: out.length });
  return out;
}

export class Fleet {
  readonly members: FleetMember[] = [];
  private readonly byId = new Map<string, FleetMember>();
  /** Clock time at which each device's boot completed (see runFor). */
  private readonly bootedAt = new Map<string, number>();

  private constructor(readonly options: FleetOptions) {}

  static async create(options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    const app = options.app;
    const code = options.engine === 'xs' ? (app ? app.xsCode() : await deviceBundleCode()) : undefined;
    const upstream = parseBrokerUrl(options.brokerUrl);
    setDeviceTrust(options.caFile === undefined ? undefined : readPem(options.caFile, 'CA certificate'));
    const all = deviceIds(options.groups);
    if (options.identities && options.identities.length !== all.length) {
      throw new Error(`${options.identities.length} provisioned identities for ${all.length} devices: give one per device`);
    }
    for (const { id: numbered, group, index } of all) {
      const provisioned = options.identities?.[index];
      const id = provisioned?.id ?? numbered;
      if (options.shard && index % options.shard.count !== options.shard.index) continue;
      const seed = (options.seed * 1_000_003 + index * 7919) >>> 0;
      const model = new SensorModel(options.clock, {
        seed,
        epoch: options.epoch,
        dhtErrorRate: group.dhtErrorRate,
        // An app's sensors are its declared fields' models; no PIR of the sensor-node's to drive.
        motion: { perHour: app ? 0 : group.motionPerHour },
      });
      let proxy: FaultProxy | undefined;
      if (options.proxies) {
        proxy = await new FaultProxy({ upstreamHost: upstream.host, upstreamPort: upstream.port, random: () => 0.5, activity: options.activity }).start();
      }
      // Through a proxy the device still logs in with the broker URL's credentials, over TLS if it is
      // mqtts:// (the proxy passes bytes through), and verifies the broker's certificate.
      // A provisioned device logs in as itself: its certificate, and its own password if it was issued one.
      const login = provisioned ? { username: provisioned.password === undefined ? undefined : provisioned.id, password: provisioned.password } : upstream;
      const broker = proxy || provisioned
        ? formatBrokerUrl({ ...upstream, ...(proxy ? { host: '127.0.0.1', port: proxy.port } : {}), username: login.username, password: login.password }, true)
        : options.brokerUrl;
      // No outboxLimit here: the simulated firmware keeps the firmware's default (64), as a device does.
      const config = {
        // The app's manifest config (its own keys); the simulator's settings over it.
        ...app?.config,
        deviceId: id,
        broker,
        topicPrefix: options.topicPrefix ?? 'canopy',
        intervalMs: group.intervalMs,
        qos: group.qos,
        keepalive: group.keepalive,
        ...options.deviceConfig,
      };
      const onEvent = (e: SimDeviceEvent) => options.onDeviceEvent?.(id, e);
      const flash = options.stateDir === undefined ? undefined : StoredFlash.open(options.stateDir, id);
      const identity = provisioned ? { cert: provisioned.identity.cert, key: provisioned.identity.key } : options.sharedIdentity;
      const fields = app ? new FieldModels(app.telemetry, app.sim, options.clock, seed, options.epoch) : undefined;
      const common = { config, clock: options.clock, sensors: model, seed, epoch: options.epoch, onEvent, activity: options.activity, flash, identity, fields: fields && (() => fields.values()) };
      const device: SimDevice = code ? new XsDevice({ ...common, code }) : new NodeDevice({ ...common, makeApp: app?.makeApp });
      const member = { id, group, device, model, proxy };
      fleet.members.push(member);
      fleet.byId.set(id, member);
    }
    return fleet;
  }

  member(id: string): FleetMember {
    const m = this.byId.get(id);
    if (!m) throw new Error(`no device "${id}" in this fleet`);
    return m;
  }

  /** Members by id, or all of them. */
  select(ids?: string[]): FleetMember[] {
    return ids ? ids.map((id) => this.member(id)) : this.members;
  }

  async boot(): Promise<void> {
    // XS workers start in batches: thousands of process spawns at once would only thrash.
    const batch = this.options.engine === 'xs' ? 16 : 1000;
    for (let i = 0; i < this.members.length; i += batch) {
      await Promise.all(
        this.members.slice(i, i + batch).map(async (m) => {
          await m.device.boot();
          this.bootedAt.set(m.id, this.options.clock.now());
        }),
      );
    }
  }

  /**
   * Lets each device run for `ms` of device time counted from its own boot, then stops it cleanly.
   * XS devices boot in batches over seconds: counted from the last boot, the first devices ran
   * longer and published more samples (65 instead of 60 in a one-minute run).
   */
  async runFor(ms: number, signal?: AbortSignal): Promise<void> {
    const clock = this.options.clock;
    const handles: number[] = [];
    const stops = this.members.map(
      (m) =>
        new Promise<void>((resolve) => {
          const at = (this.bootedAt.get(m.id) ?? clock.now()) + ms;
          handles.push(
            clock.schedule(at, async () => {
              try {
                if (m.device.running) await m.device.stop();
              } finally {
                resolve();
              }
            }),
          );
        }),
    );
    const aborted = new Promise<void>((resolve) => {
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([Promise.all(stops), aborted]);
    for (const h of handles) clock.cancel(h);
  }

  /** Clean shutdown of every running device (DISCONNECT, no will). */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => (m.device.running ? m.device.stop() : undefined)));
  }

  /** Releases everything without goodbyes: devices, models, proxies and flash files. */
  async dispose(): Promise<void> {
    await Promise.all(this.members.map((m) => m.device.powerCut()));
    for (const m of this.members) {
      m.model.close();
      if (m.device.flash instanceof StoredFlash) m.device.flash.close();
    }
    await Promise.all(this.members.map((m) => m.proxy?.stop()));
  }

  partition(ids?: string[]): void {
    for (const m of this.withProxy(ids)) m.proxy.partition();
  }

  heal(ids?: string[]): void {
    for (const m of this.withProxy(ids)) m.proxy.heal();
  }

  /** The broker's keepalive expiry during a partition (see FaultProxy.severUpstream). */
  severUpstream(ids?: string[]): void {
    for (const m of this.withProxy(ids)) m.proxy.severUpstream();
  }

  setLatency(ms: number, jitterMs: number, ids?: string[]): void {
    for (const m of this.withProxy(ids)) m.proxy.setLatency(ms, jitterMs);
  }

  reset(ids?: string[]): void {
    for (const m of this.withProxy(ids)) m.proxy.reset();
  }

  async powerLoss(id: string): Promise<void> {
    await this.member(id).device.powerCut();
  }

  async powerOn(id: string): Promise<void> {
    const d = this.member(id).device;
    if (!d.running) await d.boot();
  }

  private withProxy(ids?: string[]): (FleetMember & { proxy: FaultProxy })[] {
    const members = this.select(ids);
    const missing = members.filter((m) => !m.proxy);
    if (missing.length) throw new Error('network faults need the fault proxy (the fleet was started without one)');
    return members as (FleetMember & { proxy: FaultProxy })[];
  }
}

