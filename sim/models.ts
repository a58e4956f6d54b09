// Seeded sensor models for simulated devices: diurnal temperature with humidity moving against
// it, daylight with drifting clouds, Poisson motion with bursts (and the PIR's hold, block and
// warm-up), and DHT22 read failures at a configurable rate. Each device gets its own offsets
// from the seed, so a fleet does not report in lockstep, and a run repeats exactly for a seed.
import { seededRandom } from '../device/platform/random.ts';
import type { ClimateReading } from '../device/sensor-node/app.ts';
import type { SensorSource } from './sim-device.ts';
import type { Clock } from '../host/xs/timers.ts';

export interface SensorModelOptions {
  seed: number;
  /** Unix seconds at clock time 0: sets the time of day. */
  epoch: number;
  temperature?: { mean?: number; amplitude?: number; noise?: number };
  humidity?: { mean?: number; perDegree?: number; noise?: number };
  light?: { peak?: number; cloudiness?: number };
  motion?: { perHour?: number; burstProbability?: number; holdMs?: number; warmupMs?: number };
  /** Probability that one DHT22 read fails, split between timeouts and checksum errors. */
  dhtErrorRate?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** HC-SR501: the output stays low about 2.5 s after it falls, whatever moves. */
const PIR_BLOCKED_MS = 2500;

export class SensorModel implements SensorSource {
  private readonly noise: () => number;
  private readonly motionRandom: () => number;
  private readonly o: Required<{ [K in 'temperature' | 'humidity' | 'light' | 'motion']: Required<NonNullable<SensorModelOptions[K]>> }>;
  private readonly offset: { t: number; h: number; light: number; phase: number };
  private readonly dhtErrorRate: number;
  private dhtErrors = 0;
  private moving = false;
  private listener: ((active: boolean) => void) | undefined;
  private timer: number | undefined;
  private cloudSeed: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: SensorModelOptions,
  ) {
    const r = seededRandom(options.seed);
    this.noise = seededRandom(options.seed ^ 0x5eed);
    this.motionRandom = seededRandom(options.seed ^ 0x3017);
    this.cloudSeed = Math.floor(r() * 2 ** 31);
    this.o = {
      temperature: { mean: 21, amplitude: 4, noise: 0.15, ...options.temperature },
      humidity: { mean: 50, perDegree: 2.5, noise: 0.8, ...options.humidity },
      light: { peak: 20_000, cloudiness: 0.4, ...options.light },
      motion: { perHour: 6, burstProbability: 0.3, holdMs: 4000, warmupMs: 60_000, ...options.motion },
    };
    this.offset = { t: (r() - 0.5) * 3, h: (r() - 0.5) * 8, light: 0.7 + r() * 0.6, phase: (r() - 0.5) * HOUR };
    this.dhtErrorRate = options.dhtErrorRate ?? 0;
    this.scheduleMotion(this.o.motion.warmupMs);
  }

  climate(): ClimateReading {
    if (this.dhtErrorRate > 0 && this.noise() < this.dhtErrorRate) {
      this.dhtErrors++;
      return { temperature: null, humidity: null, errors: this.dhtErrors };
    }
    const t = this.o.temperature;
    const h = this.o.humidity;
    // Warmest mid-afternoon (15:00), coolest before dawn.
    const diurnal = Math.sin(2 * Math.PI * (this.dayFraction() - 0.375));
    const temp = t.mean + this.offset.t + t.amplitude * diurnal + t.noise * gaussian(this.noise);
    // Relative humidity falls as the air warms (same moisture, higher saturation pressure).
    const rh = h.mean + this.offset.h - h.perDegree * (temp - t.mean) + h.noise * gaussian(this.noise);
    return {
      temperature: round1(clamp(temp, -40, 80)),
      humidity: round1(clamp(rh, 0, 100)),
      errors: this.dhtErrors,
    };
  }

  light(): number | null {
    const { peak, cloudiness } = this.o.light;
    const sun = Math.sin(Math.PI * 2 * (this.dayFraction() - 0.25));
    if (sun <= 0) return Math.round(this.noise() * 2);
    const cloud = 1 - cloudiness * this.cloudCover();
    return Math.round(peak * this.offset.light * sun * cloud * (1 + 0.02 * gaussian(this.noise)));
  }

  motion(): boolean {
    return this.moving;
  }

  onMotion(listener: (active: boolean) => void): void {
    this.listener = listener;
  }

  close(): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
    this.listener = undefined;
  }

  private dayFraction(): number {
    const ms = this.options.epoch * 1000 + this.clock.now() + this.offset.phase;
    return (((ms % DAY) + DAY) % DAY) / DAY;
  }

  /** 0..1, drifting over tens of minutes: value noise between seeded points 20 minutes apart. */
  private cloudCover(): number {
    const x = (this.options.epoch * 1000 + this.clock.now()) / (20 * 60_000);
    const i = Math.floor(x);
    const f = x - i;
    const a = hash01(this.cloudSeed, i);
    const b = hash01(this.cloudSeed, i + 1);
    const s = f * f * (3 - 2 * f);
    return a + (b - a) * s;
  }

  /** Arrivals are a Poisson process; each may start a burst of several motions in a row. */
  private scheduleMotion(afterMs: number): void {
    const m = this.o.motion;
    if (m.perHour <= 0) return;
    const gap = afterMs + exponential(this.motionRandom, HOUR / m.perHour);
    let burst = 1;
    while (this.motionRandom() < m.burstProbability && burst < 6) burst++;
    this.timer = this.clock.schedule(this.clock.now() + gap, () => this.runMotion(burst));
  }

  private runMotion(remaining: number): void {
    const m = this.o.motion;
    this.setMoving(true);
    const hold = m.holdMs * (0.75 + this.motionRandom() * 0.5);
    this.timer = this.clock.schedule(this.clock.now() + hold, () => {
      this.setMoving(false);
      if (remaining > 1) {
        // The next motion of a burst is seen only once the PIR's blocked window is over.
        const pause = PIR_BLOCKED_MS + this.motionRandom() * 5000;
        this.timer = this.clock.schedule(this.clock.now() + pause, () => this.runMotion(remaining - 1));
      } else this.scheduleMotion(PIR_BLOCKED_MS);
    });
  }

  private setMoving(active: boolean): void {
    this.moving = active;
    this.listener?.(active);
  }
}

function gaussian(random: () => number): number {
  // Box–Muller; 1 - u keeps log away from 0.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

function hash01(seed: number, i: number): number {
  return seededRandom((seed ^ Math.imul(i, 0x9e3779b1)) >>> 0)();
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
