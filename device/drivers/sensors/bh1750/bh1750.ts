// BH1750 ambient light over I2C, ECMA-419 sensor class style. Continuous measurement: the sensor
// converts on its own and sample() reads the latest 16-bit result.
//
// lux = raw / 1.2 × 69 / MTreg, halved in high2 (0.5 lx) mode. MTreg (31…254, default 69) scales the
// integration time: more sensitivity in the dark, and a longer conversion (H modes 180 ms × MTreg/69
// at most, L mode 24 ms × MTreg/69), so sample() answers undefined until the first conversion after
// power-on or a configure() has had time to finish rather than report the register's stale 0.
//
// A bus error mid-run (loose wire, sensor power-cycled back into power-down) is counted and the next
// sample() re-sends power-on/MTreg/mode, so the sensor comes back without restarting the app.
import type { Clock, I2CClass, I2CDevice } from '../../io';
import { closedError, messageOf, SensorError } from '../../errors';

export type Bh1750Mode = 'high' | 'high2' | 'low';
export type Bh1750Address = 0x23 | 0x5c;

export interface Bh1750Options {
  sensor: { io: I2CClass; data: number; clock: number; hz?: number; address?: Bh1750Address; port?: number };
  mode?: Bh1750Mode;
  mtreg?: number;
  clock?: Clock;
}

export interface Bh1750Sample {
  lightmeter: { illuminance: number };
}

export const BH1750_OPCODE = {
  powerDown: 0x00,
  powerOn: 0x01,
  reset: 0x07,
  high: 0x10,
  high2: 0x11,
  low: 0x13,
  /** | MTreg bits 7…5 */
  mtregHigh: 0x40,
  /** | MTreg bits 4…0 */
  mtregLow: 0x60,
} as const;

export const BH1750_MTREG = { min: 31, max: 254, default: 69 } as const;

const MAX_CONVERSION_MS: Record<Bh1750Mode, number> = { high: 180, high2: 180, low: 24 };

export class Bh1750 {
  #io: I2CDevice | undefined;
  #address: number;
  #clock: Clock;
  #mode: Bh1750Mode = 'high';
  #mtreg: number = BH1750_MTREG.default;
  #readyAt = 0;
  #needsInit = false;
  #errors = { i2c: 0 };
  #lastError: SensorError | undefined;
  #command = new Uint8Array(1);

  constructor(options: Bh1750Options) {
    const { sensor } = options;
    const address = sensor.address ?? 0x23;
    if (address !== 0x23 && address !== 0x5c) {
      throw new SensorError('BH1750', 'config', `BH1750 address must be 0x23 (ADDR low) or 0x5C (ADDR high), not ${hex(address)}`);
    }
    this.#address = address;
    this.#clock = options.clock ?? Date.now;
    this.#validate(options);
    try {
      this.#io = new sensor.io({ ...sensor, hz: sensor.hz ?? 100_000, address });
    } catch (err) {
      throw new SensorError('BH1750', 'absent', `BH1750 I2C bus (SDA ${sensor.data}, SCL ${sensor.clock}) could not be opened: ${messageOf(err)}`);
    }
    try {
      this.#init(this.#io);
    } catch (err) {
      this.#io.close?.();
      this.#io = undefined;
      throw new SensorError('BH1750', 'absent', `BH1750 did not acknowledge at ${hex(address)} — check wiring/ADDR pin (${messageOf(err)})`);
    }
  }

  /** Changes the resolution mode and/or MTreg; the next conversion is awaited again. */
  configure(options: { mode?: Bh1750Mode; mtreg?: number }): void {
    const io = this.#open();
    this.#validate(options);
    try {
      this.#init(io);
    } catch (err) {
      this.#fail(err, 'configure');
      throw this.#lastError;
    }
  }

  /** I2C failures since construction. */
  get errors(): Readonly<{ i2c: number }> {
    return this.#errors;
  }

  get lastError(): SensorError | undefined {
    return this.#lastError;
  }

  sample(): Bh1750Sample | undefined {
    const io = this.#open();
    try {
      if (this.#needsInit) {
        this.#init(io);
        return undefined;
      }
      if (this.#clock() < this.#readyAt) return undefined;
      const b = new Uint8Array(io.read(2));
      const raw = (b[0] << 8) | b[1];
      this.#lastError = undefined;
      return { lightmeter: { illuminance: this.lux(raw) } };
    } catch (err) {
      this.#fail(err, 'read');
      return undefined;
    }
  }

  /** Lux for a raw 16-bit result under the current mode and MTreg. */
  lux(raw: number): number {
    const lux = (raw / 1.2) * (BH1750_MTREG.default / this.#mtreg);
    return this.#mode === 'high2' ? lux / 2 : lux;
  }

  close(): void {
    const io = this.#io;
    if (!io) return;
    this.#io = undefined;
    try {
      this.#write(io, BH1750_OPCODE.powerDown);
    } catch {
      // Already gone: nothing to power down.
    }
    io.close?.();
  }

  #validate(options: { mode?: Bh1750Mode; mtreg?: number }): void {
    const { mode, mtreg } = options;
    if (mode !== undefined && !Object.hasOwn(MAX_CONVERSION_MS, mode)) {
      throw new SensorError('BH1750', 'config', `BH1750 mode must be 'high', 'high2' or 'low', not ${JSON.stringify(mode)}`);
    }
    if (mtreg !== undefined && !(Number.isInteger(mtreg) && mtreg >= BH1750_MTREG.min && mtreg <= BH1750_MTREG.max)) {
      throw new SensorError('BH1750', 'config', `BH1750 mtreg must be an integer ${BH1750_MTREG.min}…${BH1750_MTREG.max}, not ${mtreg}`);
    }
    if (mode !== undefined) this.#mode = mode;
    if (mtreg !== undefined) this.#mtreg = mtreg;
  }

  #init(io: I2CDevice): void {
    const op = BH1750_OPCODE;
    this.#write(io, op.powerOn);
    this.#write(io, op.mtregHigh | (this.#mtreg >> 5));
    this.#write(io, op.mtregLow | (this.#mtreg & 0x1f));
    this.#write(io, op[this.#mode]);
    this.#needsInit = false;
    this.#readyAt = this.#clock() + Math.ceil((MAX_CONVERSION_MS[this.#mode] * this.#mtreg) / BH1750_MTREG.default);
  }

  #write(io: I2CDevice, opcode: number): void {
    this.#command[0] = opcode;
    io.write(this.#command);
  }

  #fail(err: unknown, what: string): void {
    this.#errors.i2c++;
    this.#needsInit = true;
    this.#lastError = new SensorError('BH1750', 'bus', `BH1750 ${what} failed at ${hex(this.#address)} — check wiring (${messageOf(err)})`);
  }

  #open(): I2CDevice {
    if (!this.#io) throw closedError('BH1750');
    return this.#io;
  }
}

const hex = (v: number) => `0x${v.toString(16).toUpperCase().padStart(2, '0')}`;

export default Bh1750;
