// The drivers' structural IO shapes (device/drivers/io.ts) against the real declarations in
// @moddable/typings 5.6.0 (and the native DHT22 capture's own .d.ts): if a Moddable class stopped fitting, `npm run typecheck` fails on the
// assignments below. At run time it checks the scripted IO obeys the same constants.
/// <reference path="../node_modules/@moddable/typings/embedded_io/_common.d.ts" />
/// <reference path="../node_modules/@moddable/typings/embedded_io/digital.d.ts" />
/// <reference path="../node_modules/@moddable/typings/embedded_io/analog.d.ts" />
/// <reference path="../node_modules/@moddable/typings/embedded_io/i2c.d.ts" />
/// <reference path="../device/native/dht22/dht22-capture.d.ts" />
import { describe, expect, it } from 'vitest';
import type Digital from 'embedded:io/digital';
import type Analog from 'embedded:io/analog';
import type I2C from 'embedded:io/i2c';
import type Dht22Capture from 'device/native/dht22/dht22-capture';
import type { AnalogClass, Dht22CaptureClass, DigitalClass, I2CClass } from '../device/drivers/io.ts';
import type { Dht22Options } from '../device/drivers/sensors/dht22/dht22.ts';
import type { Bh1750Options } from '../device/drivers/sensors/bh1750/bh1750.ts';
import type { LdrOptions } from '../device/drivers/sensors/ldr/ldr.ts';
import type { PirOptions } from '../device/drivers/sensors/pir/pir.ts';
import { scriptedDigitalPins } from './support/scripted-io.ts';

// Type-level: each Moddable class is accepted where a driver wants its IO class.
type Assert<T extends true> = T;
export type DigitalFits = Assert<typeof Digital extends DigitalClass ? true : false>;
export type AnalogFits = Assert<typeof Analog extends AnalogClass ? true : false>;
export type I2CFits = Assert<typeof I2C extends I2CClass ? true : false>;
export type CaptureFits = Assert<typeof Dht22Capture extends Dht22CaptureClass ? true : false>;
export type Dht22TakesCapture = Assert<{ io: typeof Dht22Capture; pin: 4 } extends Dht22Options['sensor'] ? true : false>;
export type PirTakesDigital = Assert<{ io: typeof Digital; pin: 5 } extends PirOptions['sensor'] ? true : false>;
export type LdrTakesAnalog = Assert<{ io: typeof Analog; pin: 34 } extends LdrOptions['sensor'] ? true : false>;
export type Bh1750TakesI2C = Assert<{ io: typeof I2C; data: 21; clock: 22 } extends Bh1750Options['sensor'] ? true : false>;

describe('scripted IO', () => {
  it('uses ECMA-419 edge constants that combine as bits', () => {
    const { io } = scriptedDigitalPins();
    expect(io.Rising & io.Falling).toBe(0);
    expect(io.Rising | io.Falling).toBe(3);
  });

  it('refuses onReadable without an edge, as Moddable does', () => {
    const { io } = scriptedDigitalPins();
    expect(() => new io({ pin: 1, mode: io.Input, onReadable() {} })).toThrow('edge required');
  });
});
