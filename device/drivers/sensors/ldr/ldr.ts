// Light-dependent resistor in a voltage divider on an ADC pin, ECMA-419 sensor class style.
//
// An LDR's resistance falls with light along a straight line in log–log space:
//   R = r10 × (lux / 10)^(−gamma)      (GL5528: r10 ≈ 10–20 kΩ, gamma ≈ 0.7)
// so lux = 10 × (r10 / R)^(1 / gamma), with R recovered from the divider. Part-to-part spread is
// large (the datasheet's r10 spans 2×), so the raw reading is always reported beside the lux figure,
// and `calibration` takes the values measured for the actual part.
//
// What it cannot tell: a missing LDR reads like darkness (LDR to VCC) or glare (LDR to ground). The
// curve means nothing at the ADC rails, so lux is clamped to 0…maxLux there.
import type { AnalogClass, AnalogInput } from '../../io';
import { closedError, messageOf, SensorError } from '../../errors';

export interface LdrCalibration {
  /** The divider's fixed resistor, Ω. */
  seriesOhms?: number;
  /** The LDR's resistance at 10 lx, Ω. */
  r10Ohms?: number;
  /** −d log10(R) / d log10(lux). */
  gamma?: number;
  /** Where the LDR sits: 'vcc' (fixed resistor to ground: brighter reads higher) or 'ground'. */
  ldrTo?: 'vcc' | 'ground';
  /** Upper clamp for lux. */
  maxLux?: number;
}

export const LDR_DEFAULT_CALIBRATION: Required<LdrCalibration> = {
  seriesOhms: 10_000,
  r10Ohms: 15_000,
  gamma: 0.7,
  ldrTo: 'vcc',
  maxLux: 65_535,
};

export interface LdrOptions {
  sensor: { io: AnalogClass; pin: number; resolution?: number };
  calibration?: LdrCalibration;
  /** Readings averaged per sample (ADC noise). */
  averaging?: number;
}

export interface LdrSample {
  lightmeter: { illuminance: number };
  /** The (averaged) ADC reading, 0 … 2^resolution − 1. */
  raw: number;
}

export class Ldr {
  #io: AnalogInput | undefined;
  #full: number;
  #cal: Required<LdrCalibration> = { ...LDR_DEFAULT_CALIBRATION };
  #averaging = 1;

  constructor(options: LdrOptions) {
    const { sensor } = options;
    this.configure(options);
    try {
      this.#io = new sensor.io(sensor);
    } catch (err) {
      throw new SensorError('LDR', 'absent', `LDR analog input on pin ${sensor.pin} could not be opened: ${messageOf(err)}`);
    }
    const bits = this.#io.resolution;
    if (!(Number.isInteger(bits) && bits > 0 && bits <= 24)) {
      this.close();
      throw new SensorError('LDR', 'config', `LDR analog input on pin ${sensor.pin} reports resolution ${bits}; expected 1…24 bits`);
    }
    this.#full = 2 ** bits - 1;
  }

  configure(options: { calibration?: LdrCalibration; averaging?: number }): void {
    const { calibration, averaging } = options;
    if (averaging !== undefined) {
      if (!(Number.isInteger(averaging) && averaging >= 1 && averaging <= 64)) {
        throw new SensorError('LDR', 'config', `LDR averaging must be an integer 1…64, not ${averaging}`);
      }
      this.#averaging = averaging;
    }
    if (calibration) {
      const cal = { ...this.#cal, ...calibration };
      for (const key of ['seriesOhms', 'r10Ohms', 'gamma', 'maxLux'] as const) {
        if (!(cal[key] > 0 && Number.isFinite(cal[key]))) {
          throw new SensorError('LDR', 'config', `LDR calibration.${key} must be a positive number, not ${cal[key]}`);
        }
      }
      if (cal.ldrTo !== 'vcc' && cal.ldrTo !== 'ground') {
        throw new SensorError('LDR', 'config', `LDR calibration.ldrTo must be 'vcc' or 'ground', not ${JSON.stringify(cal.ldrTo)}`);
      }
      this.#cal = cal;
    }
  }

  sample(): LdrSample {
    const io = this.#io;
    if (!io) throw closedError('LDR');
    let sum = 0;
    for (let i = 0; i < this.#averaging; i++) sum += io.read();
    const raw = sum / this.#averaging;
    return { lightmeter: { illuminance: this.lux(raw) }, raw };
  }

  /** Lux for a raw reading under the current calibration. */
  lux(raw: number): number {
    const { seriesOhms, r10Ohms, gamma, ldrTo, maxLux } = this.#cal;
    const f = Math.min(Math.max(raw / this.#full, 0), 1);
    // Fraction of the supply across the fixed resistor (LDR to VCC) or across the LDR (to ground).
    const across = ldrTo === 'vcc' ? 1 - f : f;
    const rest = 1 - across;
    if (across <= 0) return maxLux; // LDR at 0 Ω: brighter than the curve goes
    if (rest <= 0) return 0; // LDR open: dark, or not there
    const ohms = (seriesOhms * across) / rest;
    return Math.min(10 * (r10Ohms / ohms) ** (1 / gamma), maxLux);
  }

  close(): void {
    this.#io?.close?.();
    this.#io = undefined;
  }
}

export default Ldr;
