// The greenhouse's hardware on an ESP32 (module "greenhouse/hardware" on esp32): the SDK's DHT22,
// BH1750 and relay drivers over the board's ECMA-419 IO. A missing sensor reads as null (and says
// why once), as in the sensor-node; a relay that cannot be opened stops the boot: a controller
// that cannot ventilate must say so.
import Digital from 'embedded:io/digital';
import I2C from 'embedded:io/i2c';
import Dht22Capture from 'device/native/dht22/dht22-capture';
import { Dht22 } from 'device/drivers/sensors/dht22/dht22';
import { Bh1750 } from 'device/drivers/sensors/bh1750/bh1750';
import { Relay } from 'device/drivers/outputs/relay/relay';
import type { DigitalOutputClass, I2CClass } from 'device/drivers/io';
import type { ConfigSource } from 'device/config';
import type { DeviceClock } from 'device/platform/types';
import type { GreenhouseHardware } from 'examples/greenhouse/app';

function open<T>(what: string, make: () => T): T | undefined {
  try {
    return make();
  } catch (err) {
    trace(`[warn] ${what} unavailable: ${(err as Error).message}\n`);
    return undefined;
  }
}

const pin = (config: ConfigSource, key: string, fallback: number): number => {
  const v = config.get(key);
  return typeof v === 'number' ? v : fallback;
};

export function createHardware(config: ConfigSource, clock: DeviceClock): GreenhouseHardware {
  const now = () => clock.now();
  const dht = open('DHT22', () => new Dht22({ sensor: { io: Dht22Capture, pin: pin(config, 'dhtPin', 4) }, clock: now }));
  const light = open('BH1750', () => new Bh1750({ sensor: { io: I2C as unknown as I2CClass, data: pin(config, 'i2cDataPin', 21), clock: pin(config, 'i2cClockPin', 22) }, clock: now }));
  const fan = new Relay({ output: { io: Digital as unknown as DigitalOutputClass, pin: pin(config, 'fanPin', 26) }, activeLow: config.get('fanActiveLow') === true });
  return {
    climate() {
      const s = dht?.sample();
      return { temperature: s ? s.thermometer.temperature : null, humidity: s ? s.hygrometer.humidity : null };
    },
    light: () => light?.sample()?.lightmeter.illuminance ?? null,
    fan,
    close() {
      dht?.close();
      light?.close();
      fan.close();
    },
  };
}
