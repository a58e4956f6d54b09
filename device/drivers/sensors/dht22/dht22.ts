// DHT22 / AM2302 temperature + humidity, ECMA-419 sensor class style. The capture IO (native on an
// ESP32, simulated elsewhere) measures one frame's pulse widths; decoding is dht22-frame.ts.
//
// The sensor must not be read more often than every 2 s (it heats itself and answers garbage), so
// sample() touches the bus at most once per `minIntervalMs` and answers from the last read in
// between — including "undefined" when that last read failed, so a caller polling fast cannot turn
// one bad frame into a burst of retries.
import type { Clock, Dht22Capture, Dht22CaptureClass } from '../../io';
import { closedError, messageOf, SensorError } from '../../errors';
import { decodeDht22, Dht22FrameError, type Dht22Failure } from './dht22-frame';

export interface Dht22Sample {
  thermometer: { temperature: number };
  hygrometer: { humidity: number };
}

export interface Dht22Errors {
  timeout: number;
  checksum: number;
  range: number;
}

export interface Dht22Options {
  sensor: { io: Dht22CaptureClass; pin: number };
  clock?: Clock;
  /** Minimum time between bus reads; the datasheet's 2000 is also the floor. */
  minIntervalMs?: number;
}

export const DHT22_MIN_INTERVAL_MS = 2000;

export class Dht22 {
  #io: Dht22Capture | undefined;
  #clock: Clock;
  #minInterval = DHT22_MIN_INTERVAL_MS;
  #readAt: number | undefined;
  #temperature = NaN;
  #humidity = NaN;
  #ok = false;
  #errors: Dht22Errors = { timeout: 0, checksum: 0, range: 0 };
  #lastError: SensorError | undefined;

  constructor(options: Dht22Options) {
    const { sensor } = options;
    this.#clock = options.clock ?? Date.now;
    this.configure(options);
    try {
      this.#io = new sensor.io(sensor);
    } catch (err) {
      throw new SensorError('DHT22', 'absent', `DHT22 capture on pin ${sensor.pin} could not be opened: ${messageOf(err)}`);
    }
  }

  configure(options: { minIntervalMs?: number }): void {
    const ms = options.minIntervalMs;
    if (ms === undefined) return;
    if (!(ms >= DHT22_MIN_INTERVAL_MS)) {
      throw new SensorError('DHT22', 'config', `DHT22 minIntervalMs ${ms} is below the sensor's ${DHT22_MIN_INTERVAL_MS} ms`);
    }
    this.#minInterval = ms;
  }

  /** Failed reads since construction, by cause. */
  get errors(): Readonly<Dht22Errors> {
    return this.#errors;
  }

  /** Why the last read failed (undefined after a good one). */
  get lastError(): SensorError | undefined {
    return this.#lastError;
  }

  sample(): Dht22Sample | undefined {
    const io = this.#io;
    if (!io) throw closedError('DHT22');
    const now = this.#clock();
    if (this.#readAt === undefined || now - this.#readAt >= this.#minInterval || now < this.#readAt) {
      // `now < readAt`: the clock went backwards (set by SNTP); read rather than wait it out.
      this.#readAt = now;
      this.#read(io);
    }
    if (!this.#ok) return undefined;
    return { thermometer: { temperature: this.#temperature }, hygrometer: { humidity: this.#humidity } };
  }

  close(): void {
    this.#io?.close();
    this.#io = undefined;
  }

  #read(io: Dht22Capture): void {
    try {
      const { humidity, temperature } = decodeDht22(io.read());
      this.#humidity = humidity;
      this.#temperature = temperature;
      this.#ok = true;
      this.#lastError = undefined;
    } catch (err) {
      // A throw from the capture itself (RMT busy, pin lost) is a frame that never arrived.
      const reason: Dht22Failure = err instanceof Dht22FrameError ? err.reason : 'timeout';
      this.#errors[reason]++;
      this.#ok = false;
      this.#lastError = err instanceof SensorError ? err : new SensorError('DHT22', 'timeout', `DHT22 capture failed: ${messageOf(err)}`);
    }
  }
}

export default Dht22;
