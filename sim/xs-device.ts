// Runs the device bundle (device/xsnap-main.ts) in an XS worker and serves its platform channels
// (device/platform/xsnap.ts documents them): real TCP/TLS sockets to the broker, sensors from a
// host-side source, storage and the outbox log that outlive the worker (a power cut loses the
// engine's RAM, not its flash), and the clock. A restart or power cut is a new worker with the
// same storage.
import { DeviceFlash, type SimDevice, type SimDeviceEvent, type SimDeviceOptions } from './sim-device.ts';
import { openDeviceSocket, type DeviceSocket } from '../host/device-socket.ts';
import { Bridge, json } from '../host/xs/bridge.ts';
import { CryptoService } from '../host/xs/crypto-service.ts';
import { GuestTimers } from '../host/xs/timers.ts';
import { XsWorker, type XsWorkerOptions } from '../host/xs/worker.ts';
import { DEVICE_HEAP, type HeapBudget } from '../host/xs/device-heap.ts';
import { NetOp } from '../device/platform/xsnap-net.ts';

export interface XsDeviceOptions extends SimDeviceOptions {
  /** The device bundle's code (host/xs/bundle.ts of device/xsnap-main.ts). */
  code: string;
  worker?: XsWorkerOptions;
  /** Load the firmware but do not start the app (footprint baselines). */
  loadOnly?: boolean;
  /**
   * The app's heap once the firmware has loaded: default an ESP32's creation plus the bridge's
   * share (host/xs/device-heap.ts), so an app that would run out of memory on the board aborts
   * here too; 'unbounded' is xsnap's own 32 MB heap.
   */
  heap?: HeapBudget | 'unbounded';
}

/** TCP bytes handed to the guest per bridge call: about what an ESP32's lwIP hands the app at once. */
export const NET_PIECE = 4096;


/** The firmware's preference domain (device/platform/moddable/storage.ts), ident's NVS_NAMESPACE. */
const SETTINGS_DOMAIN = 'canopy';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One simulated device on the real XS engine. */
export class XsDevice implements SimDevice {
  readonly id: string;
  readonly flash: DeviceFlash;
  private worker: XsWorker | undefined;
  private bridge: Bridge | undefined;
  private timers: GuestTimers | undefined;
  private sockets = new Map<number, DeviceSocket>();
  private stopped: (() => void) | undefined;
  private generation = 0;

  constructor(private readonly options: XsDeviceOptions) {
    this.id = String(options.config.deviceId);
    this.flash = options.flash ?? new DeviceFlash();
    options.sensors.onMotion?.((active) => {
      const bridge = this.bridge;
      if (!bridge) return;
      bridge.call('sensors', Uint8Array.of(4, active ? 1 : 0)).catch((err) => this.log('error', `motion edge lost: ${(err as Error).message}`));
    });
  }

  get running(): boolean {
    return this.worker?.alive ?? false;
  }

  /** Heap figures of the last reply, for footprint measurements. */
  get xsWorker(): XsWorker | undefined {
    return this.worker;
  }

  /** Boots the firmware: a new XS machine evaluating the bundle. */
  async boot(): Promise<void> {
    if (this.worker?.alive) throw new Error('device is already running');
    const generation = ++this.generation;
    this.flash.powerOn();
    const heap = this.options.heap ?? DEVICE_HEAP;
    const worker = new XsWorker({ name: `device-${this.id}`, heap: heap === 'unbounded' ? undefined : heap, ...this.options.worker });
    const bridge = new Bridge(worker);
    this.worker = worker;
    this.bridge = bridge;
    this.timers = new GuestTimers(bridge, this.options.clock);
    bridge.handle('dev', (p) => this.serveDev(p, generation));
    bridge.handle('net', (p) => this.serveNet(p, bridge));
    bridge.handle('sensors', (p) => this.serveSensors(p));
    bridge.handle('storage', (p) => this.serveStorage(p));
    bridge.handle('outbox', (p) => this.serveOutbox(p));
    bridge.handle('ota', (p) => this.serveOta(p));
    const crypto = new CryptoService();
    bridge.handle('crypto', (p) => crypto.serve(p));
    worker.exited.then(() => this.dropSockets());
    await worker.evaluate(this.options.code);
    if (heap !== 'unbounded') await worker.sealHeap();
    if (this.options.loadOnly) return;
    await bridge.call('app', json.encode({ op: 'start' }));
  }

  /** Asks the app to take a sample now. */
  async sampleNow(): Promise<void> {
    await this.requireBridge().call('app', json.encode({ op: 'sample' }));
  }

  async stats(): Promise<Record<string, unknown>> {
    return json.decode(await this.requireBridge().call('app', json.encode({ op: 'stats' })));
  }

  /** Clean shutdown: the app says "offline", drains and sends DISCONNECT; then the worker quits. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.worker?.alive) return;
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    await this.requireBridge().call('app', json.encode({ op: 'stop' }));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.shutdownWorker();
  }

  /** A power cut: the engine and its sockets vanish with no DISCONNECT; flash survives. */
  async powerCut(): Promise<void> {
    this.timers?.dispose();
    this.dropSockets();
    await this.worker?.kill();
  }

  private async shutdownWorker(): Promise<void> {
    this.timers?.dispose();
    const w = this.worker;
    if (w?.alive) await w.close().catch(() => w.kill());
    this.dropSockets();
  }

  private requireBridge(): Bridge {
    if (!this.bridge || !this.worker?.alive) throw new Error('device is not running');
    return this.bridge;
  }

  private log(level: string, message: string): void {
    this.options.onEvent?.({ type: 'log', level, message });
  }

  private serveDev(payload: Uint8Array, generation: number): Uint8Array | void {
    const req = json.decode<{ op: string; level?: string; message?: string; reason?: string; event?: SimDeviceEvent }>(payload);
    switch (req.op) {
      case 'config':
        return json.encode({ config: this.options.config, seed: this.options.seed ?? 1 });
      case 'unixTime':
        return json.encode(Math.floor((this.options.epoch ?? 0) + this.options.clock.now() / 1000));
      case 'log':
        this.log(req.level ?? 'info', req.message ?? '');
        return json.encode(null);
      case 'event':
        if (req.event) this.options.onEvent?.(req.event);
        return json.encode(null);
      case 'stopped':
        this.stopped?.();
        this.stopped = undefined;
        return json.encode(null);
      case 'restart':
        // Never await the worker from inside its own request: reboot once this reply is out.
        setImmediate(() => {
          if (generation !== this.generation) return;
          this.shutdownWorker()
            .then(() => this.boot())
            .then(() => this.options.onEvent?.({ type: 'restart', reason: req.reason ?? '' }))
            .catch((err) => this.log('error', `reboot failed: ${(err as Error).message}`));
        });
        return json.encode(null);
      default:
        throw new Error(`unknown dev op "${req.op}"`);
    }
  }

  private serveNet(p: Uint8Array, bridge: Bridge): void {
    const id = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(1, true);
    switch (p[0]) {
      case NetOp.connect: {
        const port = p[5] | (p[6] << 8);
        const secure = p[7] === 1;
        const host = decoder.decode(p.subarray(8));
        const send = (op: number, body: Uint8Array) => {
          if (bridge !== this.bridge || !this.worker?.alive) return;
          const msg = new Uint8Array(5 + body.length);
          msg[0] = op;
          new DataView(msg.buffer).setUint32(1, id, true);
          msg.set(body, 5);
          bridge.call('net', msg).catch((err) => {
            if (this.worker?.alive) this.log('error', `net event for connection ${id} failed in the guest: ${(err as Error).message}`);
          });
        };
        this.sockets.set(
          id,
          openDeviceSocket(host, port, secure, {
            onConnect: () => send(NetOp.connected, new Uint8Array(0)),
            onData: (bytes) => {
              for (let at = 0; at < bytes.length; at += NET_PIECE) send(NetOp.data, bytes.subarray(at, at + NET_PIECE));
            },
            onClose: (reason) => {
              this.sockets.delete(id);
              this.options.onEvent?.({ type: 'connection-lost', reason });
              send(NetOp.closed, encoder.encode(reason));
            },
          }, this.options.activity, this.options.identity),
        );
        return;
      }
      case NetOp.write:
        this.sockets.get(id)?.write(p.slice(5));
        return;
      case NetOp.close: {
        const s = this.sockets.get(id);
        this.sockets.delete(id);
        s?.close();
        return;
      }
      default:
        throw new Error(`unknown net op ${p[0]}`);
    }
  }

  private serveSensors(p: Uint8Array): Uint8Array {
    const s = this.options.sensors;
    switch (p[0]) {
      case 1:
        return json.encode(s.climate());
      case 2: {
        const out = new Uint8Array(8);
        new DataView(out.buffer).setFloat64(0, s.light() ?? Number.NaN, true);
        return out;
      }
      case 3:
        return Uint8Array.of(s.motion() ? 1 : 0);
      case 5:
        // An app's modeled fields (device/platform/xsnap-firmware.ts), by name.
        return json.encode(this.options.fields?.() ?? {});
      default:
        throw new Error(`unknown sensors op ${p[0]}`);
    }
  }

  private serveStorage(p: Uint8Array): Uint8Array {
    const req = json.decode<{ op: string; domain?: string; key: string; value?: string | number | boolean }>(p);
    // `flash.settings` is the one preference domain the firmware keeps (the NVS namespace that
    // provisioning writes and --state persists); another domain would vanish at the next boot.
    if (req.domain !== SETTINGS_DOMAIN) {
      throw new Error(`preference domain ${JSON.stringify(req.domain)}: the simulated NVS keeps domain "${SETTINGS_DOMAIN}" only`);
    }
    switch (req.op) {
      case 'get':
        return json.encode({ value: this.flash.settings.get(req.key) });
      case 'set':
        if (req.value === undefined) throw new Error(`storage set of "${req.key}" without a value`);
        this.flash.settings.set(req.key, req.value);
        return json.encode(null);
      case 'delete':
        this.flash.settings.delete(req.key);
        return json.encode(null);
      case 'keys':
        return json.encode({ keys: [...this.flash.settings.keys()] });
      default:
        throw new Error(`unknown storage op "${req.op}"`);
    }
  }

  private serveOta(p: Uint8Array): Uint8Array | void {
    const { flash, records } = this.flash.ota;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const key = () => (p[1] === 0 ? 'state' : 'package');
    switch (p[0]) {
      case 1: return flash.begin(v.getUint32(1, true));
      case 2: return flash.resume(v.getUint32(1, true));
      case 3: return flash.write(v.getUint32(1, true), p.subarray(5));
      case 4: return flash.read(v.getUint32(1, true), v.getUint32(5, true));
      case 5: return flash.complete();
      case 6: return flash.abort();
      case 7: return Uint8Array.of(flash.runningState() === 'pending-verify' ? 1 : 0);
      case 8: return flash.markValid();
      case 9: return flash.markInvalid();
      case 10: {
        const out = new Uint8Array(4);
        new DataView(out.buffer).setUint32(0, flash.slotSize, true);
        return out;
      }
      case 11: {
        const r = records.load(key());
        if (!r) return Uint8Array.of(0);
        const out = new Uint8Array(1 + r.length);
        out[0] = 1;
        out.set(r, 1);
        return out;
      }
      case 12: return records.save(key(), p.slice(2));
      default: throw new Error(`unknown ota op ${p[0]}`);
    }
  }

  private serveOutbox(p: Uint8Array): Uint8Array | void {
    if (p[0] === 1) return this.flash.readLog();
    if (p[0] === 2) return this.flash.appendRecord(p.subarray(1));
    throw new Error(`unknown outbox op ${p[0]}`);
  }

  private dropSockets(): void {
    // destroy, not end: to the broker this is a vanished device, so its will fires.
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
  }
}
