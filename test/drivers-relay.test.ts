// The relay driver (device/drivers/outputs/relay) over a recording digital output: levels for
// active-high and active-low boards, off at open and at close, errors that say what to check.
import { describe, expect, it } from 'vitest';
import { Relay } from '../device/drivers/outputs/relay/relay.ts';
import { MemoryOutput } from '../device/drivers/outputs/relay/memory-output.ts';
import { SensorError } from '../device/drivers/errors.ts';
import type { DigitalOutputOptions } from '../device/drivers/io.ts';

class Recording {
  static readonly Output = 'out';
  static opened: Recording[] = [];
  readonly writes: number[] = [];
  closed = false;
  constructor(readonly options: DigitalOutputOptions) {
    if (options.pin === 99) throw new Error('GPIO 99 does not exist');
    Recording.opened.push(this);
  }
  write(v: number) {
    this.writes.push(v);
  }
  close() {
    this.closed = true;
  }
}

describe('Relay', () => {
  it('opens its pin as an output, off; on is high unless activeLow', () => {
    const r = new Relay({ output: { io: Recording, pin: 26 } });
    const pin = Recording.opened.at(-1)!;
    expect(pin.options).toEqual({ pin: 26, mode: 'out' });
    r.write(true);
    r.write(false);
    expect(pin.writes).toEqual([0, 1, 0]);
    const low = new Relay({ output: { io: Recording, pin: 27 }, activeLow: true, initial: true });
    expect(low.sample()).toEqual({ on: true });
    low.write(false);
    expect(Recording.opened.at(-1)!.writes).toEqual([0, 1]);
  });

  it('releases the load when closed, and refuses use after close', () => {
    const r = new Relay({ output: { io: Recording, pin: 26 }, initial: true });
    const pin = Recording.opened.at(-1)!;
    r.close();
    expect(pin.writes.at(-1)).toBe(0);
    expect(pin.closed).toBe(true);
    expect(() => r.write(true)).toThrow(expect.objectContaining({ reason: 'closed' }));
  });

  it('says which pin could not be opened', () => {
    expect(() => new Relay({ output: { io: Recording, pin: 99 } })).toThrow(new SensorError('Relay', 'absent', 'Relay output GPIO 99 could not be opened — check the pin is free and output-capable (GPIO 99 does not exist)'));
    expect(() => new Relay({ output: { io: Recording, pin: -1 } })).toThrow(/GPIO number/);
  });

  it('runs over the in-memory output of builds without GPIO', () => {
    const r = new Relay({ output: { io: MemoryOutput, pin: 5 } });
    r.write(true);
    expect(r.read()).toBe(true);
  });
});
