// The greenhouse's hardware in the lin build (mcsim has no GPIO; module "greenhouse/hardware" on
// lin): a small greenhouse model — the sun warms it through the day, a running fan cools it —
// and the SDK's relay driver over an in-memory output, so the app, the rule and the relay code
// are the firmware's own.
import { Relay } from 'device/drivers/outputs/relay/relay';
import { MemoryOutput } from 'device/drivers/outputs/relay/memory-output';
import type { ConfigSource } from 'device/config';
import type { DeviceClock } from 'device/platform/types';
import type { GreenhouseHardware } from 'examples/greenhouse/app';

const DAY_MS = 86_400_000;

export function createHardware(_config: ConfigSource, clock: DeviceClock): GreenhouseHardware {
  const fan = new Relay({ output: { io: MemoryOutput, pin: 26 } });
  let cooling = 0;
  let last = clock.now();
  const phase = () => ((clock.unixTime() * 1000 || clock.now()) % DAY_MS) / DAY_MS;
  return {
    climate() {
      // The fan takes up to 4 °C off, in about a minute.
      const t = clock.now();
      const dt = Math.min(60_000, t - last) / 60_000;
      last = t;
      cooling = Math.max(0, Math.min(4, cooling + (fan.read() ? 4 : -4) * dt));
      const sun = Math.sin(2 * Math.PI * (phase() - 0.375));
      return { temperature: Math.round((24 + 6 * sun - cooling) * 10) / 10, humidity: Math.round((60 - 15 * sun) * 10) / 10 };
    },
    light() {
      const sun = Math.sin(Math.PI * (phase() - 0.25) * 2);
      return sun > 0 ? Math.round(30_000 * sun) : 0;
    },
    fan,
    close: () => fan.close(),
  };
}
