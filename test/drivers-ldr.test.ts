import { describe, expect, it } from 'vitest';
import { Ldr } from '../device/drivers/sensors/ldr/ldr.ts';
import { scriptedAnalogPins } from './support/scripted-io.ts';

const FULL = 4095; // 12-bit ESP32 ADC

/** The ADC reading the divider gives for an LDR of `ohms` (LDR to VCC, 10 kΩ to ground). */
const rawFor = (ohms: number, series = 10_000) => (FULL * series) / (series + ohms);

describe('Ldr', () => {
  it('reports raw and lux in the ECMA-419 shape', () => {
    const adc = scriptedAnalogPins({ 34: [rawFor(15_000)] });
    const ldr = new Ldr({ sensor: { io: adc.io, pin: 34 } });
    const s = ldr.sample();
    expect(s.raw).toBeCloseTo(1638, 0);
    expect(s.lightmeter.illuminance).toBeCloseTo(10, 9); // r10 = 15 kΩ by default
  });

  // The log–log line: each decade of resistance is 1/gamma decades of lux.
  const table: [string, number, number][] = [
    ['r10 → 10 lx', 15_000, 10],
    ['r10 / 10^0.7 → 100 lx', 15_000 / 10 ** 0.7, 100],
    ['r10 / 10^1.4 → 1000 lx', 15_000 / 10 ** 1.4, 1000],
    ['r10 × 10^0.7 → 1 lx', 15_000 * 10 ** 0.7, 1],
  ];
  it.each(table)('%s', (_n, ohms, lux) => {
    const adc = scriptedAnalogPins({ 34: [rawFor(ohms)] });
    expect(new Ldr({ sensor: { io: adc.io, pin: 34 } }).sample().lightmeter.illuminance).toBeCloseTo(lux, 6);
  });

  it('takes the measured calibration of the actual part, LDR to ground', () => {
    // LDR to ground, 4.7 kΩ to VCC: the ADC sees the LDR's share, so darker reads higher.
    const ohms = 8_000;
    const raw = (FULL * ohms) / (4_700 + ohms);
    const adc = scriptedAnalogPins({ 34: [raw] });
    const ldr = new Ldr({ sensor: { io: adc.io, pin: 34 }, calibration: { seriesOhms: 4_700, r10Ohms: 20_000, gamma: 0.8, ldrTo: 'ground' } });
    expect(ldr.sample().lightmeter.illuminance).toBeCloseTo(10 * (20_000 / ohms) ** (1 / 0.8), 6);
  });

  it('clamps at the ADC rails instead of inventing a number', () => {
    const adc = scriptedAnalogPins({ 34: [0, FULL] });
    const ldr = new Ldr({ sensor: { io: adc.io, pin: 34 } });
    expect(ldr.sample()).toEqual({ lightmeter: { illuminance: 0 }, raw: 0 }); // dark, or LDR missing
    expect(ldr.sample()).toEqual({ lightmeter: { illuminance: 65_535 }, raw: FULL });
    ldr.configure({ calibration: { maxLux: 1000 } });
    expect(ldr.sample().lightmeter.illuminance).toBe(1000);
  });

  it('averages readings when asked', () => {
    const adc = scriptedAnalogPins({ 34: [1000, 1100, 1200, 1300, 4000] });
    const ldr = new Ldr({ sensor: { io: adc.io, pin: 34 }, averaging: 4 });
    expect(ldr.sample().raw).toBe(1150);
  });

  it('a pin without an ADC is an absent error naming the pin', () => {
    const adc = scriptedAnalogPins({ 34: [0] });
    expect(() => new Ldr({ sensor: { io: adc.io, pin: 2 } })).toThrow('LDR analog input on pin 2 could not be opened: invalid pin');
  });

  it('works at another ADC resolution and refuses a nonsensical one', () => {
    const adc10 = scriptedAnalogPins({ 34: [(1023 * 10_000) / 25_000] }, 10);
    expect(new Ldr({ sensor: { io: adc10.io, pin: 34 } }).sample().lightmeter.illuminance).toBeCloseTo(10, 9);
    const broken = scriptedAnalogPins({ 34: [0] }, 0);
    expect(() => new Ldr({ sensor: { io: broken.io, pin: 34 } })).toThrow('LDR analog input on pin 34 reports resolution 0; expected 1…24 bits');
  });

  it('refuses calibrations that cannot describe a divider', () => {
    const adc = scriptedAnalogPins({ 34: [0] });
    const io = adc.io;
    expect(() => new Ldr({ sensor: { io, pin: 34 }, calibration: { gamma: 0 } })).toThrow('LDR calibration.gamma must be a positive number, not 0');
    expect(() => new Ldr({ sensor: { io, pin: 34 }, calibration: { seriesOhms: NaN } })).toThrow(/seriesOhms/);
    expect(() => new Ldr({ sensor: { io, pin: 34 }, calibration: { ldrTo: 'up' as 'vcc' } })).toThrow(/ldrTo must be 'vcc' or 'ground'/);
    expect(() => new Ldr({ sensor: { io, pin: 34 }, averaging: 0 })).toThrow(/averaging must be an integer 1…64/);
  });

  it('close() ends it; sample() afterwards is a closed error', () => {
    const adc = scriptedAnalogPins({ 34: [0] });
    const ldr = new Ldr({ sensor: { io: adc.io, pin: 34 } });
    ldr.close();
    expect(() => ldr.sample()).toThrow(expect.objectContaining({ reason: 'closed' }));
  });
});
