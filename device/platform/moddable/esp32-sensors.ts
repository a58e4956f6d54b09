// The ESP32's sensors for the DeviceApp: the Canopy drivers over the board's ECMA-419 IO. A sensor
// that is missing or miswired does not stop the device: it reports no value (null), says why once
// on the console, and the rest of the telemetry flows.
import Digital from 'embedded:io/digital';
import Analog from 'embedded:io/analog';
import I2C from 'embedded:io/i2c';
import Dht22Capture from 'device/native/dht22/dht22-capture';
import { Dht22 } from 'device/drivers/sensors/dht22/dht22';
import { Bh1750, type Bh1750Address } from 'device/drivers/sensors/bh1750/bh1750';
import { Ldr } from 'device/drivers/sensors/ldr/ldr';
import { Pir } from 'device/drivers/sensors/pir/pir';
import type { DigitalClass, AnalogClass, I2CClass } from 'device/drivers/io';
import type { DeviceConfig } from 'device/config';
import type { DeviceClock } from 'device/platform/types';
import type { SensorNodeSensors } from 'device/sensor-node/app';

function open<T>(what: string, make: () => T): T | undefined {
  try {
    return make();
  } catch (err) {
    trace(`[warn] ${what} unavailable: ${(err as Error).message}\n`);
    return undefined;
  }
}

export function createSensors(config: DeviceConfig, clock: DeviceClock): SensorNodeSensors {
  const now = () => clock.now();
  const dht = open('DHT22', () => new Dht22({ sensor: { io: Dht22Capture, pin: config.pins.dht }, clock: now }));
  const bh1750 =
    config.light === 'bh1750'
      ? open('BH1750', () => new Bh1750({ sensor: { io: I2C as unknown as I2CClass, data: config.pins.i2cData, clock: config.pins.i2cClock, address: config.bh1750Address as Bh1750Address }, clock: now }))
      : undefined;
  const ldr = config.light === 'ldr' ? open('LDR', () => new Ldr({ sensor: { io: Analog as unknown as AnalogClass, pin: config.pins.ldr } })) : undefined;
  let onMotion: ((active: boolean) => void) | undefined;
  const pir = open(
    'PIR',
    () => new Pir({ sensor: { io: Digital as unknown as DigitalClass, pin: config.pins.pir }, warmupMs: config.pirWarmupMs, clock: now, onMotion: (active) => onMotion?.(active) }),
  );
  return {
    climate() {
      const s = dht?.sample();
      const e = dht?.errors;
      return {
        temperature: s ? s.thermometer.temperature : null,
        humidity: s ? s.hygrometer.humidity : null,
        errors: e ? e.timeout + e.checksum + e.range : 0,
      };
    },
    light() {
      if (bh1750) return bh1750.sample()?.lightmeter.illuminance ?? null;
      if (ldr) return ldr.sample().lightmeter.illuminance;
      return null;
    },
    motion: () => pir?.sample().motion ?? false,
    onMotion(callback) {
      onMotion = callback;
    },
    close() {
      dht?.close();
      bh1750?.close();
      ldr?.close();
      pir?.close();
    },
  };
}
