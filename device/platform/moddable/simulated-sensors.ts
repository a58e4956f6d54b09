// Sensors for the lin (mcsim) build, which has no Digital, Analog or I2C: a small deterministic
// model (diurnal temperature and humidity, day/night light, motion now and then) so the same
// firmware publishes plausible telemetry on a desktop. The host simulator has richer, seeded
// models of its own.
import type { DeviceConfig } from 'device/config';
import type { DeviceClock } from 'device/platform/types';
import type { SensorNodeSensors } from 'device/sensor-node/app';

const DAY_MS = 86_400_000;

export function createSensors(_config: DeviceConfig, clock: DeviceClock): SensorNodeSensors {
  let moving = false;
  let listener: ((active: boolean) => void) | undefined;
  let timer: unknown;
  const phase = () => ((clock.unixTime() * 1000 || clock.now()) % DAY_MS) / DAY_MS;
  const toggle = () => {
    moving = !moving;
    listener?.(moving);
    // Motion lasts ~5 s, then stillness for one to three minutes.
    timer = clock.setTimer(toggle, moving ? 5000 : 60_000 + Math.floor(Math.random() * 120_000));
  };
  timer = clock.setTimer(toggle, 30_000);
  return {
    climate() {
      const d = Math.sin(2 * Math.PI * (phase() - 0.375));
      return { temperature: Math.round((20 + 5 * d) * 10) / 10, humidity: Math.round((50 - 15 * d) * 10) / 10, errors: 0 };
    },
    light() {
      const sun = Math.sin(Math.PI * (phase() - 0.25) * 2);
      return sun > 0 ? Math.round(20_000 * sun) : 0;
    },
    motion: () => moving,
    onMotion(callback) {
      listener = callback;
    },
    close() {
      clock.clearTimer(timer);
      listener = undefined;
    },
  };
}
