// Scripted stand-ins for the ECMA-419 IO classes, behaving like Moddable's ESP32 implementations
// where a driver can tell: option validation and errors in the constructor, an I2C target that does
// not acknowledge throws Error("write failed"/"read failed"), a pin can be opened once, edges call
// onReadable with the level readable afterwards, everything throws after close(). Each class is made
// per test by a factory, so the bus state (devices, pins, the log) belongs to that test.
import type {
  AnalogClass, AnalogInput, AnalogOptions, Dht22Capture, Dht22CaptureClass, Dht22CaptureOptions,
  DigitalClass, DigitalInput, DigitalOptions, I2CClass, I2CDevice, I2COptions,
} from '../../device/drivers/io.ts';
import { decodeDht22, dht22Pulses } from '../../device/drivers/sensors/dht22/dht22-frame.ts';
import { Dht22 } from '../../device/drivers/sensors/dht22/dht22.ts';
import { Bh1750 } from '../../device/drivers/sensors/bh1750/bh1750.ts';
import { Ldr } from '../../device/drivers/sensors/ldr/ldr.ts';
import { Pir } from '../../device/drivers/sensors/pir/pir.ts';

export { dht22Pulses };

// ---- I2C -----------------------------------------------------------------------------------------

/** A device on the scripted bus: sees every written buffer, answers reads from its script. */
export interface ScriptedI2CTarget {
  write(bytes: number[]): void;
  read(byteLength: number): number[];
}

export interface I2CLogEntry {
  address: number;
  op: 'write' | 'read';
  bytes: number[];
}

export interface ScriptedI2CBus {
  io: I2CClass;
  /** Targets by 7-bit address; delete one to "unplug" it (it stops acknowledging). */
  targets: Map<number, ScriptedI2CTarget>;
  /** Every completed transfer, in order. */
  log: I2CLogEntry[];
  /** Instances currently open. */
  readonly open: number;
}

export function scriptedI2CBus(targets: Record<number, ScriptedI2CTarget> = {}): ScriptedI2CBus {
  const bus: ScriptedI2CBus = {
    io: undefined as unknown as I2CClass,
    targets: new Map(Object.entries(targets).map(([a, t]) => [Number(a), t])),
    log: [],
    get open() { return inUse.size; },
  };
  const inUse = new Set<number>();

  class I2C implements I2CDevice {
    #address: number | undefined;

    constructor(options: I2COptions) {
      // The checks and messages of Moddable's modules/io/i2c/esp32/_i2c.c.
      if (options.data === undefined) throw new RangeError('data required');
      if (options.clock === undefined) throw new RangeError('clock required');
      if (options.address === undefined) throw new RangeError('address required');
      if (!(options.address >= 0 && options.address <= 0x7f)) throw new RangeError('invalid address');
      if (inUse.has(options.address)) throw new RangeError('duplicate address');
      if (!(options.hz > 0 && options.hz <= 1_000_000)) throw new RangeError('invalid hz');
      this.#address = options.address;
      inUse.add(options.address);
    }

    write(buffer: Uint8Array | ArrayBuffer): void {
      const address = this.#live();
      const bytes = Array.from(buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : buffer);
      const target = bus.targets.get(address);
      if (!target) throw new Error('write failed'); // NACK on the address byte
      target.write(bytes);
      bus.log.push({ address, op: 'write', bytes });
    }

    read(byteLength: number): ArrayBuffer {
      const address = this.#live();
      const target = bus.targets.get(address);
      if (!target) throw new Error('read failed');
      const bytes = target.read(byteLength);
      if (bytes.length !== byteLength) throw new Error(`scripted target gave ${bytes.length} bytes for a ${byteLength}-byte read`);
      bus.log.push({ address, op: 'read', bytes });
      return new Uint8Array(bytes).buffer;
    }

    close(): void {
      if (this.#address !== undefined) inUse.delete(this.#address);
      this.#address = undefined;
    }

    #live(): number {
      if (this.#address === undefined) throw new Error('closed');
      return this.#address;
    }
  }

  bus.io = I2C;
  return bus;
}

/** A BH1750 target: records opcodes and answers reads with `raw` values, the last one repeating. */
export class ScriptedBh1750 implements ScriptedI2CTarget {
  opcodes: number[] = [];
  #raw: number[];

  constructor(...raw: number[]) {
    this.#raw = raw.length ? raw : [0];
  }

  write(bytes: number[]): void {
    this.opcodes.push(...bytes);
  }

  read(byteLength: number): number[] {
    const raw = this.#raw.length > 1 ? this.#raw.shift()! : this.#raw[0];
    return [raw >> 8, raw & 0xff].slice(0, byteLength);
  }
}

// ---- Digital -------------------------------------------------------------------------------------

export interface ScriptedDigitalPins {
  io: DigitalClass;
  /**
   * Drives an input pin's level; calls onReadable if the edge is one the instance asked for, unless
   * `deliver` is false (the callback is still queued, as when the IO coalesces edges: see fire()).
   */
  set(pin: number, level: 0 | 1, deliver?: boolean): void;
  /** Runs a pin's onReadable now, whatever the level: a queued or coalesced callback. */
  fire(pin: number): void;
  /** The options each pin was opened with. */
  opened: Map<number, DigitalOptions>;
}

export function scriptedDigitalPins(initial: Record<number, 0 | 1> = {}, validPins = 40): ScriptedDigitalPins {
  const levels = new Map<number, 0 | 1>(Object.entries(initial).map(([p, l]) => [Number(p), l]));
  const live = new Map<number, Digital>();
  const opened = new Map<number, DigitalOptions>();
  const RISING = 1;
  const FALLING = 2;

  class Digital implements DigitalInput {
    static readonly Input = 0;
    static readonly InputPullUp = 1;
    static readonly InputPullDown = 2;
    static readonly Rising = RISING;
    static readonly Falling = FALLING;
    #pin: number | undefined;
    readonly edge: number;
    readonly onReadable: ((this: DigitalInput) => void) | undefined;

    constructor(options: DigitalOptions) {
      const { pin, mode } = options;
      if (!(Number.isInteger(pin) && pin >= 0 && pin < validPins)) throw new RangeError('invalid pin');
      if (live.has(pin)) throw new Error('in use');
      if (mode !== Digital.Input && mode !== Digital.InputPullUp && mode !== Digital.InputPullDown) throw new RangeError('invalid mode');
      if (options.onReadable && !options.edge) throw new RangeError('edge required');
      this.#pin = pin;
      this.edge = options.edge ?? 0;
      this.onReadable = options.onReadable;
      live.set(pin, this);
      opened.set(pin, options);
      if (!levels.has(pin)) levels.set(pin, mode === Digital.InputPullUp ? 1 : 0);
    }

    read(): number {
      if (this.#pin === undefined) throw new Error('closed');
      return levels.get(this.#pin)!;
    }

    close(): void {
      if (this.#pin !== undefined) live.delete(this.#pin);
      this.#pin = undefined;
    }
  }

  return {
    io: Digital,
    opened,
    set(pin, level, deliver = true) {
      const before = levels.get(pin) ?? 0;
      levels.set(pin, level);
      const d = live.get(pin);
      if (!deliver || !d || before === level || !d.onReadable) return;
      if (d.edge & (level ? RISING : FALLING)) d.onReadable.call(d);
    },
    fire(pin) {
      const d = live.get(pin);
      d?.onReadable?.call(d);
    },
  };
}

// ---- Analog --------------------------------------------------------------------------------------

export interface ScriptedAnalogPins {
  io: AnalogClass;
  /** Readings per pin, served in order, the last one repeating. */
  values: Map<number, number[]>;
}

export function scriptedAnalogPins(values: Record<number, number[]>, resolution = 12): ScriptedAnalogPins {
  const pins: ScriptedAnalogPins = {
    io: undefined as unknown as AnalogClass,
    values: new Map(Object.entries(values).map(([p, v]) => [Number(p), v])),
  };

  class Analog implements AnalogInput {
    readonly resolution = resolution;
    #pin: number | undefined;

    constructor(options: AnalogOptions) {
      // Only ADC-capable pins open; on an ESP32 anything else is a RangeError.
      if (!pins.values.has(options.pin)) throw new RangeError('invalid pin');
      if (options.resolution !== undefined && options.resolution !== resolution) throw new RangeError('invalid resolution');
      this.#pin = options.pin;
    }

    read(): number {
      if (this.#pin === undefined) throw new Error('closed');
      const queue = pins.values.get(this.#pin)!;
      return queue.length > 1 ? queue.shift()! : queue[0];
    }

    close(): void {
      this.#pin = undefined;
    }
  }

  pins.io = Analog;
  return pins;
}

// ---- DHT22 capture ----------------------------------------------------------------------------------

/** Frame bytes (with a correct checksum) for raw 16-bit humidity and temperature words. */
export function dht22FrameBytes(humidityWord: number, temperatureWord: number): number[] {
  const b = [humidityWord >> 8, humidityWord & 0xff, temperatureWord >> 8, temperatureWord & 0xff];
  return [...b, (b[0] + b[1] + b[2] + b[3]) & 0xff];
}

export interface ScriptedDht22 {
  io: Dht22CaptureClass;
  /** Frames served by read(), in order, the last one repeating; a function is called per read. */
  frames: (ArrayLike<number> | (() => ArrayLike<number>))[];
  /** Completed read() calls (bus transactions). */
  reads: number;
  closed: boolean;
}

export function scriptedDht22(...frames: (ArrayLike<number> | (() => ArrayLike<number>))[]): ScriptedDht22 {
  const s: ScriptedDht22 = { io: undefined as unknown as Dht22CaptureClass, frames, reads: 0, closed: false };
  const pinsInUse = new Set<number>();

  class Capture implements Dht22Capture {
    #pin: number | undefined;

    constructor(options: Dht22CaptureOptions) {
      // device/native/dht22: an invalid or taken pin is a RangeError, as in Moddable's IO.
      if (!(Number.isInteger(options.pin) && options.pin >= 0 && options.pin < 40)) throw new RangeError('invalid pin');
      if (pinsInUse.has(options.pin)) throw new RangeError('in use');
      pinsInUse.add(options.pin);
      this.#pin = options.pin;
    }

    read(): ArrayLike<number> {
      if (this.#pin === undefined) throw new Error('closed');
      const next = s.frames.length > 1 ? s.frames.shift()! : s.frames[0];
      s.reads++;
      return typeof next === 'function' ? next() : next ?? [];
    }

    close(): void {
      if (this.#pin !== undefined) pinsInUse.delete(this.#pin);
      this.#pin = undefined;
      s.closed = true;
    }
  }

  s.io = Capture;
  return s;
}

// ---- One run of every driver, for comparing engines (test/drivers-on-xs.test.ts) -----------------

/**
 * Drives each driver through its main paths over the scripted IO above and returns what it saw,
 * one line per step. Plain ES2022, so the same function runs on Node and bundled on XS.
 */
export function driverTranscript(): string[] {
  const out: string[] = [];
  const attempt = (label: string, f: () => unknown) => {
    try {
      out.push(`${label}: ${JSON.stringify(f())}`);
    } catch (err) {
      const e = err as Error & { reason?: string };
      out.push(`${label}: ${e.name} ${e.reason} ${e.message}`);
    }
  };
  const frame = (rh: number, t: number) => dht22Pulses(dht22FrameBytes(rh, t));
  const sig = (n: number) => Number(n.toPrecision(12)); // pow() may differ in the last bit between engines

  attempt('dht22 datasheet', () => decodeDht22(frame(0x0292, 0x010d)));
  attempt('dht22 -10.1', () => decodeDht22(frame(0x01f4, 0x8065)));
  attempt('dht22 short', () => decodeDht22(frame(0x0292, 0x010d).slice(0, 60)));
  attempt('dht22 checksum', () => decodeDht22(dht22Pulses([2, 0x92, 1, 0x0d, 0xa3])));
  attempt('dht22 range', () => decodeDht22(frame(0x03e9, 0)));

  let now = 0;
  const clock = () => now;
  const capture = scriptedDht22(frame(0x0292, 0x010d), [], frame(0x01f4, 0x8065));
  const dht = new Dht22({ sensor: { io: capture.io, pin: 4 }, clock });
  for (const t of [0, 1000, 2000, 4000, 4500]) {
    now = t;
    attempt(`dht22 @${t}`, () => ({ sample: dht.sample() ?? null, reads: capture.reads, errors: dht.errors }));
  }
  dht.close();

  const chip = new ScriptedBh1750(1200, 0xffff);
  const bus = scriptedI2CBus({ 0x23: chip });
  now = 0;
  const bh = new Bh1750({ sensor: { io: bus.io, data: 21, clock: 22 }, clock, mode: 'high2', mtreg: 138 });
  now = 400;
  attempt('bh1750', () => bh.sample());
  bus.targets.delete(0x23);
  attempt('bh1750 unplugged', () => ({ sample: bh.sample() ?? null, errors: bh.errors, message: bh.lastError?.message }));
  attempt('bh1750 absent', () => new Bh1750({ sensor: { io: scriptedI2CBus().io, data: 21, clock: 22, address: 0x5c } }));
  out.push(`bh1750 opcodes: ${chip.opcodes.map((o) => o.toString(16)).join(' ')}`);

  const adc = scriptedAnalogPins({ 34: [0, 1638, 2048, 4095] });
  const ldr = new Ldr({ sensor: { io: adc.io, pin: 34 } });
  for (let i = 0; i < 4; i++) {
    const s = ldr.sample();
    out.push(`ldr raw ${s.raw} → ${sig(s.lightmeter.illuminance)} lx`);
  }

  const pins = scriptedDigitalPins();
  const events: string[] = [];
  now = 0;
  const pir = new Pir({ sensor: { io: pins.io, pin: 27 }, clock, warmupMs: 1000, onMotion: (a, at) => events.push(`${a}@${at}`) });
  for (const [t, level] of [[500, 1], [600, 0], [1500, 1], [4500, 0], [7000, 1]] as const) {
    now = t;
    pins.set(27, level);
  }
  attempt('pir', () => ({ sample: pir.sample(), events, ignored: pir.ignoredEdges, blockedUntil: pir.blockedUntil }));
  pir.close();
  return out;
}
