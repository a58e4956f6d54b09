// A relay (or any on/off load: a fan, a valve, a heater) on one digital output, in the ECMA-419
// style of the sensor drivers: the IO class comes in through `options.output.io`
// (embedded:io/digital on an ESP32, an in-memory pin in the lin build and the tests). Most relay
// boards switch on a low input (their optocoupler pulls to ground), hence `activeLow`. The
// driver remembers the state it wrote: a relay's pin cannot be read back, and the telemetry
// reports what the firmware commanded.
import type { DigitalOutput, DigitalOutputClass } from '../../io';
import { closedError, messageOf, SensorError } from '../../errors';

export interface RelayOptions {
  output: { io: DigitalOutputClass; pin: number };
  /** The relay is energised by a low level. Default false (high = on). */
  activeLow?: boolean;
  /** State written at open. Default false (off): a reboot never leaves a load running unasked. */
  initial?: boolean;
}

export interface RelaySample {
  on: boolean;
}

export class Relay {
  #pin: DigitalOutput | undefined;
  readonly #activeLow: boolean;
  #on = false;

  constructor(options: RelayOptions) {
    const { io, pin } = options.output;
    if (!Number.isInteger(pin) || pin < 0) throw new SensorError('Relay', 'config', `Relay pin must be a GPIO number, got ${pin}`);
    this.#activeLow = options.activeLow ?? false;
    try {
      this.#pin = new io({ pin, mode: io.Output });
    } catch (err) {
      throw new SensorError('Relay', 'absent', `Relay output GPIO ${pin} could not be opened — check the pin is free and output-capable (${messageOf(err)})`);
    }
    this.write(options.initial ?? false);
  }

  /** Energises (true) or releases (false) the relay. */
  write(on: boolean): void {
    const pin = this.#pin;
    if (!pin) throw closedError('Relay');
    pin.write(on !== this.#activeLow ? 1 : 0);
    this.#on = on;
  }

  read(): boolean {
    if (!this.#pin) throw closedError('Relay');
    return this.#on;
  }

  sample(): RelaySample {
    return { on: this.read() };
  }

  /** Releases the relay, then the pin. */
  close(): void {
    if (!this.#pin) return;
    this.write(false);
    this.#pin.close();
    this.#pin = undefined;
  }
}

export default Relay;
