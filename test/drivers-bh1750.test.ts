import { describe, expect, it } from 'vitest';
import { Bh1750 } from '../device/drivers/sensors/bh1750/bh1750.ts';
import { scriptedI2CBus, ScriptedBh1750 } from './support/scripted-io.ts';

const pins = { data: 21, clock: 22 };

function setup(raw: number[] = [0x1234], address = 0x23, options: { mode?: 'high' | 'high2' | 'low'; mtreg?: number } = {}) {
  const chip = new ScriptedBh1750(...raw);
  const bus = scriptedI2CBus({ [address]: chip });
  let now = 0;
  const clock = () => now;
  const bh = new Bh1750({ sensor: { io: bus.io, ...pins, address: address as 0x23 | 0x5c }, clock, ...options });
  return { chip, bus, bh, advance: (ms: number) => (now += ms) };
}

describe('Bh1750', () => {
  it('powers on, sets MTreg and continuous H-res mode, then reads lux = raw / 1.2', () => {
    const { chip, bus, bh, advance } = setup([0x1234]);
    expect(chip.opcodes).toEqual([0x01, 0x42, 0x65, 0x10]); // MTreg 69 = 0b010_00101
    expect(bh.sample()).toBeUndefined(); // first conversion not done yet
    advance(180);
    expect(bh.sample()).toEqual({ lightmeter: { illuminance: 0x1234 / 1.2 } });
    expect(bus.log.at(-1)).toEqual({ address: 0x23, op: 'read', bytes: [0x12, 0x34] });
    expect(bh.errors.i2c).toBe(0);
  });

  // [mode, mtreg, raw, lux, opcodes after power-on, conversion wait ms]
  const table: [('high' | 'high2' | 'low'), number, number, number, number[], number][] = [
    ['high', 69, 1, 1 / 1.2, [0x42, 0x65, 0x10], 180],
    ['high', 69, 0xffff, 54612.5, [0x42, 0x65, 0x10], 180],
    ['high2', 69, 1200, 500, [0x42, 0x65, 0x11], 180],
    ['low', 69, 1200, 1000, [0x42, 0x65, 0x13], 24],
    ['high', 138, 1200, 500, [0x44, 0x6a, 0x10], 360],
    ['high', 31, 1200, 1000 * (69 / 31), [0x40, 0x7f, 0x10], 81],
    ['high2', 254, 1200, (1000 * (69 / 254)) / 2, [0x47, 0x7e, 0x11], 663],
  ];
  it.each(table)('mode %s, MTreg %i: raw %i → %f lx', (mode, mtreg, raw, lux, opcodes, waitMs) => {
    const { chip, bh, advance } = setup([raw], 0x23, { mode, mtreg });
    expect(chip.opcodes).toEqual([0x01, ...opcodes]);
    advance(waitMs - 1);
    expect(bh.sample()).toBeUndefined();
    advance(1);
    expect(bh.sample()?.lightmeter.illuminance).toBeCloseTo(lux, 9);
  });

  it('works at 0x5C (ADDR high) and refuses any other address', () => {
    const { bus, bh, advance } = setup([120], 0x5c);
    advance(180);
    expect(bh.sample()?.lightmeter.illuminance).toBe(100);
    expect(bus.log.every((e) => e.address === 0x5c)).toBe(true);
    expect(() => new Bh1750({ sensor: { io: bus.io, ...pins, address: 0x24 as 0x23 } })).toThrow(
      'BH1750 address must be 0x23 (ADDR low) or 0x5C (ADDR high), not 0x24',
    );
  });

  it('missing sensor: the constructor says what to check and leaves the bus free', () => {
    const bus = scriptedI2CBus({});
    expect(() => new Bh1750({ sensor: { io: bus.io, ...pins } })).toThrow(
      'BH1750 did not acknowledge at 0x23 — check wiring/ADDR pin (write failed)',
    );
    expect(() => new Bh1750({ sensor: { io: bus.io, ...pins, address: 0x5c } })).toThrow(/did not acknowledge at 0x5C/);
    expect(bus.open).toBe(0);
  });

  it('a bus that cannot be opened is reported with its pins', () => {
    const bus = scriptedI2CBus({ 0x23: new ScriptedBh1750() });
    expect(() => new Bh1750({ sensor: { io: bus.io, ...pins, hz: 5_000_000 } })).toThrow(
      'BH1750 I2C bus (SDA 21, SCL 22) could not be opened: invalid hz',
    );
  });

  it('sensor unplugged mid-run: undefined with a count, then re-initialised when it is back', () => {
    const { chip, bus, bh, advance } = setup([1200]);
    advance(200);
    expect(bh.sample()?.lightmeter.illuminance).toBe(1000);
    bus.targets.delete(0x23);
    expect(bh.sample()).toBeUndefined();
    expect(bh.errors.i2c).toBe(1);
    expect(bh.lastError?.reason).toBe('bus');
    expect(bh.lastError?.message).toBe('BH1750 read failed at 0x23 — check wiring (read failed)');
    expect(bh.sample()).toBeUndefined(); // re-init attempt NACKs too
    expect(bh.errors.i2c).toBe(2);

    // Plugged back in: it powered up in power-down, so the driver must send the whole setup again.
    chip.opcodes = [];
    bus.targets.set(0x23, chip);
    expect(bh.sample()).toBeUndefined();
    expect(chip.opcodes).toEqual([0x01, 0x42, 0x65, 0x10]);
    advance(180);
    expect(bh.sample()?.lightmeter.illuminance).toBe(1000);
    expect(bh.lastError).toBeUndefined();
  });

  it('configure changes mode and MTreg on the chip and validates them', () => {
    const { chip, bh, advance } = setup([1200]);
    chip.opcodes = [];
    bh.configure({ mode: 'high2', mtreg: 138 });
    expect(chip.opcodes).toEqual([0x01, 0x44, 0x6a, 0x11]);
    advance(359);
    expect(bh.sample()).toBeUndefined();
    advance(1);
    expect(bh.sample()?.lightmeter.illuminance).toBe(250);
    expect(() => bh.configure({ mtreg: 30 })).toThrow('BH1750 mtreg must be an integer 31…254, not 30');
    expect(() => bh.configure({ mtreg: 69.5 })).toThrow(/not 69.5/);
    expect(() => bh.configure({ mode: 'toString' as 'high' })).toThrow(/mode must be 'high', 'high2' or 'low'/);
  });

  it('close() powers the chip down, frees the address, and later calls are closed errors', () => {
    const { chip, bus, bh } = setup();
    bh.close();
    expect(chip.opcodes.at(-1)).toBe(0x00);
    expect(bus.open).toBe(0);
    bh.close();
    expect(() => bh.sample()).toThrow(expect.objectContaining({ reason: 'closed' }));
    expect(() => bh.configure({ mode: 'low' })).toThrow(expect.objectContaining({ reason: 'closed' }));
  });

  it('close() with the chip gone still frees the bus', () => {
    const { bus, bh } = setup();
    bus.targets.delete(0x23);
    bh.close();
    expect(bus.open).toBe(0);
  });
});
