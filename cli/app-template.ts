// The files `canopy new NAME` writes: a small climate app on the SDK (DHT22 temperature and
// humidity, a heater on a relay switched by an edge rule), its telemetry declaration, the
// simulator's sensor models, a vitest test, tsconfig with the typings, package.json and a README.
// `sdk` is the path from the new folder to the Canopy package (node_modules/canopy when installed).
// Every device module imports by full module name: the app's modules are `NAME/...` (docs/moddable.md).

export interface TemplateOptions {
  name: string;
  /** Relative path from the app folder to the Canopy package root, with forward slashes. */
  sdk: string;
  version: string;
}

export function appFiles(o: TemplateOptions): Record<string, string> {
  const { name, sdk } = o;
  const json = (v: unknown) => `${JSON.stringify(v, null, '\t')}\n`;
  return {
    'manifest.json': json({
      include: [`${sdk}/manifest_sdk.json`, `${sdk}/device/drivers/outputs/relay/manifest.json`],
      config: { deviceId: `${name}-1`, broker: 'mqtt://192.168.1.10:1883', topicPrefix: 'canopy', intervalMs: 10000, qos: 1, sntp: 'pool.ntp.org', heaterOnC: 5, heaterOffC: 7 },
      modules: { '*': ['./main'], [`${name}/app`]: './app', [`${name}/telemetry`]: './telemetry' },
      preload: [`${name}/app`, `${name}/telemetry`, `${name}/hardware`],
      platforms: {
        esp32: { include: [`${sdk}/device/drivers/sensors/dht22/manifest.json`], modules: { [`${name}/hardware`]: './hardware-esp32' } },
        lin: { modules: { [`${name}/hardware`]: './hardware-sim' } },
        xsnap: { modules: { [`${name}/hardware`]: './hardware-sim' } },
      },
    }),
    'main.ts': `// The firmware's entry (module "main"): the SDK's firmware runner with this app.
import { runFirmware } from 'device/platform/moddable/firmware';
import { createHardware } from '${name}/hardware';
import { climateApp, heaterSettings } from '${name}/app';

runFirmware(({ config, clock }) => climateApp(createHardware(config, clock), heaterSettings(config)));
`,
    'telemetry.ts': `// The app's telemetry, declared once: the device encodes from it, \`canopy sim\` and
// \`canopy monitor\` decode by it (the schema id in each sample). Add a field here and in app.ts read().
import { Telemetry } from 'protocol/telemetry-schema';

export const TELEMETRY = new Telemetry({
  name: '${name}',
  fields: [
    { name: 'temperature', type: 'int', unit: '°C', scale: 1, min: -40, max: 80, nullable: true, description: 'DHT22' },
    { name: 'humidity', type: 'int', unit: '%RH', scale: 1, min: 0, max: 100, nullable: true, description: 'DHT22' },
    { name: 'heater', type: 'bool', description: 'heater relay, as switched' },
  ],
});
`,
    'app.ts': `// The app: reads the DHT22, and an edge rule switches the heater on below heaterOnC and off
// above heaterOffC (each state held at least a minute), on the device, broker or not.
import type { DeviceAppDefinition } from 'device/app/app-definition';
import { EdgeRule } from 'device/app/edge-rule';
import type { ConfigSource } from 'device/config';
import { TELEMETRY } from '${name}/telemetry';

export interface Hardware {
  climate(): { temperature: number | null; humidity: number | null };
  heater: { write(on: boolean): void; read(): boolean; close(): void };
  close(): void;
}

export interface HeaterSettings {
  onC: number;
  offC: number;
}

export function heaterSettings(config: ConfigSource): HeaterSettings {
  const num = (key: string, fallback: number) => {
    const v = config.get(key);
    const n = typeof v === 'string' ? Number(v) : v;
    return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
  };
  return { onC: num('heaterOnC', 5), offC: num('heaterOffC', 7) };
}

export function climateApp(hw: Hardware, settings: HeaterSettings): DeviceAppDefinition {
  const rule = new EdgeRule({ field: 'temperature', when: 'below', on: settings.onC, off: settings.offC, minOnMs: 60_000, minOffMs: 60_000 });
  return {
    telemetry: TELEMETRY,
    read() {
      const c = hw.climate();
      return { temperature: c.temperature, humidity: c.humidity, heater: hw.heater.read() };
    },
    onSample(record, ctx) {
      const d = rule.update(record.temperature as number | null, ctx.clock.now());
      if (!d.changed) return;
      hw.heater.write(d.on);
      ctx.log('info', \`heater \${d.on ? 'on' : 'off'}\`);
      ctx.sampleNow();
    },
    onCommand(command, ctx) {
      if (command.output !== 0) throw new Error(\`no output \${command.output} (the heater is output 0)\`);
      const d = rule.override(command.on, ctx.clock.now());
      if (d.changed) hw.heater.write(d.on);
      ctx.sampleNow();
    },
    stop: () => hw.close(),
  };
}
`,
    'hardware-esp32.ts': `// The hardware on an ESP32 (module "${name}/hardware" on esp32): the SDK's DHT22 and relay drivers.
import Digital from 'embedded:io/digital';
import Dht22Capture from 'device/native/dht22/dht22-capture';
import { Dht22 } from 'device/drivers/sensors/dht22/dht22';
import { Relay } from 'device/drivers/outputs/relay/relay';
import type { DigitalOutputClass } from 'device/drivers/io';
import type { ConfigSource } from 'device/config';
import type { DeviceClock } from 'device/platform/types';
import type { Hardware } from '${name}/app';

const pin = (config: ConfigSource, key: string, fallback: number) => {
  const v = config.get(key);
  return typeof v === 'number' ? v : fallback;
};

export function createHardware(config: ConfigSource, clock: DeviceClock): Hardware {
  let dht: Dht22 | undefined;
  try {
    dht = new Dht22({ sensor: { io: Dht22Capture, pin: pin(config, 'dhtPin', 4) }, clock: () => clock.now() });
  } catch (err) {
    trace(\`[warn] DHT22 unavailable: \${(err as Error).message}\\n\`);
  }
  const heater = new Relay({ output: { io: Digital as unknown as DigitalOutputClass, pin: pin(config, 'heaterPin', 26) } });
  return {
    climate() {
      const s = dht?.sample();
      return { temperature: s ? s.thermometer.temperature : null, humidity: s ? s.hygrometer.humidity : null };
    },
    heater,
    close() {
      dht?.close();
      heater.close();
    },
  };
}
`,
    'hardware-sim.ts': `// The hardware in mcsim (lin) and \`canopy sim\` (module "${name}/hardware"): a cold night and a
// mild day, the heater warming by up to 6 °C, and the relay driver over an in-memory output.
// \`canopy sim\` replaces the readings by sim.json's sensor models.
import { Relay } from 'device/drivers/outputs/relay/relay';
import { MemoryOutput } from 'device/drivers/outputs/relay/memory-output';
import type { ConfigSource } from 'device/config';
import type { DeviceClock } from 'device/platform/types';
import type { Hardware } from '${name}/app';

export function createHardware(_config: ConfigSource, clock: DeviceClock): Hardware {
  const heater = new Relay({ output: { io: MemoryOutput, pin: 26 } });
  const day = () => (((clock.unixTime() * 1000 || clock.now()) % 86_400_000) / 86_400_000);
  return {
    climate() {
      const t = 6 + 6 * Math.sin(2 * Math.PI * (day() - 0.375)) + (heater.read() ? 6 : 0);
      return { temperature: Math.round(t * 10) / 10, humidity: 70 };
    },
    heater,
    close: () => heater.close(),
  };
}
`,
    'sim.json': json({
      fields: {
        temperature: { model: 'daily', mean: 6, amplitude: 5, noise: 0.2, dropout: 0.005 },
        humidity: { model: 'walk', start: 70, step: 0.5 },
        heater: 'app',
      },
    }),
    'scenario.yaml': `# A night for a small fleet of this app (canopy sim --scenario scenario.yaml): 03:00 UTC, cold,
# so the heater rule must switch on; one device loses its network for two minutes.
name: ${name}-night
engine: node
seed: 1
epoch: 1796180400
duration: 30m
devices:
  - count: 10
    interval: 10s
    qos: 1
    keepalive: 20s
faults:
  - at: 10m
    partition: 2m
    devices: sim-3
assert:
  - delivered
  - samplesAtLeast: 150
  - fieldRange: { field: temperature, min: -40, max: 80 }
  - fieldSeen: { field: heater, value: true }
  - noDecodeErrors
`,
    'app.test.ts': `// A unit test of the app's rule, with fake hardware and a fake clock: \`npm test\`.
import { climateApp, type Hardware } from './app';
import { TELEMETRY } from './telemetry';

function fakeHardware(temperature: number): Hardware & { temperature: number } {
  let on = false;
  const hw = {
    temperature,
    climate: () => ({ temperature: hw.temperature, humidity: 50 }),
    heater: { write: (v: boolean) => void (on = v), read: () => on, close() {} },
    close() {},
  };
  return hw;
}

describe('${name}', () => {
  it('turns the heater on when it is cold, and the sample encodes', () => {
    const hw = fakeHardware(2);
    const app = climateApp(hw, { onC: 5, offC: 7 });
    let now = 0;
    const ctx = { clock: { now: () => now }, log() {}, sampleNow() {} } as never;
    const record = { seq: 1, ts: 0, ...app.read() };
    app.onSample?.(record, ctx);
    expect(hw.heater.read()).toBe(true);
    expect(TELEMETRY.decode(TELEMETRY.encode(2, 0, app.read())).heater).toBe(true);
    now = 120_000;
    hw.temperature = 9;
    app.onSample?.({ seq: 3, ts: 0, ...app.read() }, ctx);
    expect(hw.heater.read()).toBe(false);
  });
});
`,
    'vitest.config.ts': `// The app's modules import the SDK by module name (device/..., protocol/..., ${name}/...), as
// mcconfig names them; here the same names map to files. Globals: the test needs no import.
import { fileURLToPath } from 'node:url';
const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));
export default {
  resolve: {
    alias: [
      { find: /^${name}\\/hardware$/, replacement: at('./hardware-sim.ts') },
      { find: /^${name}\\/(.*)$/, replacement: at('./$1.ts') },
      { find: /^(device|protocol)\\/(.*)$/, replacement: at('${sdk}/$1/$2.ts') },
    ],
  },
  test: { globals: true, include: ['*.test.ts'] },
};
`,
    'tsconfig.json': json({
      // Type-checks the app as mcconfig's tsc will (strict, ES2022, no Node): the SDK's module
      // names mapped to Canopy's files (lin's choices for the per-platform ones), the Moddable
      // typings and Canopy's device/types. \`npx tsc -p .\` once the devDependencies are installed.
      compilerOptions: {
        target: 'es2022',
        lib: ['es2022'],
        module: 'preserve',
        moduleResolution: 'bundler',
        strict: true,
        noImplicitOverride: true,
        noEmit: true,
        isolatedModules: true,
        verbatimModuleSyntax: true,
        skipLibCheck: true,
        types: ['vitest/globals'],
        paths: {
          [`${name}/hardware`]: ['./hardware-sim.ts'],
          [`${name}/*`]: ['./*'],
          'canopy/network': [`${sdk}/device/platform/moddable/host-network.ts`],
          'canopy/tls': [`${sdk}/device/platform/moddable/no-tls.ts`],
          'canopy/ota': [`${sdk}/device/platform/moddable/no-ota.ts`],
          'canopy/outbox-area': [`${sdk}/device/platform/moddable/file-outbox-area.ts`],
          'canopy/crypto': [`${sdk}/device/platform/moddable/native-crypto.ts`],
          'device/*': [`${sdk}/device/*`],
          'protocol/*': [`${sdk}/protocol/*`],
        },
      },
      include: [
        '*.ts',
        `${sdk}/device/types`,
        ...['xs', 'timer', 'time', 'preference', 'flash', 'file', 'wifi', 'sntp', 'net', 'mc/config', 'global', 'embedded_io/_common', 'embedded_io/system', 'embedded_io/digital', 'embedded_io/analog', 'embedded_io/i2c', 'embedded_io/socket/tcp'].map((t) => `node_modules/@moddable/typings/${t}.d.ts`),
      ],
      exclude: ['vitest.config.ts'],
    }),
    'package.json': json({
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        sim: 'canopy sim --app .',
        'build:lin': 'canopy build --target lin',
        'build:esp32': 'canopy build --target esp32',
        test: 'vitest run',
      },
      devDependencies: { canopy: `^${o.version}`, vitest: '^4.1.12', '@moddable/typings': '^5.6.0' },
      // The simulator's XS engine is built by @agoric/xsnap's install script.
      allowScripts: { '@agoric/xsnap': true, esbuild: true },
    }).replace(/\t/g, '  '),
    'README.md': `# ${name}

A Canopy device app: a DHT22 climate probe with a heater on a relay, switched on the device by an
edge rule (on below \`heaterOnC\`, off above \`heaterOffC\` in manifest.json).

| file | what |
| --- | --- |
| \`telemetry.ts\` | the declared fields (the device encodes them, the host decodes them) |
| \`app.ts\` | reading, the rule, the set-output command |
| \`main.ts\` | the entry: \`runFirmware\` with this app |
| \`hardware-esp32.ts\`, \`hardware-sim.ts\` | the board's drivers; mcsim's and the simulator's stand-ins |
| \`sim.json\` | \`canopy sim\`'s sensor model per field |
| \`scenario.yaml\` | a simulated night of ten devices, with assertions on the fields |

\`\`\`sh
npx canopy sim --virtual-time --duration 10m --json     # three simulated devices of this app
npx canopy sim --devices 20 --engine node              # a fleet, live view
npx canopy sim --scenario scenario.yaml                # a night, a partition, assertions on the fields
npx vitest run                                         # app.test.ts
npx canopy build --target lin                          # mcsim build (Moddable SDK)
npx canopy build --target esp32 --ssid WIFI --password PASS --broker mqtt://192.168.1.10:1883
npx canopy flash                                       # the esp32 build to a board on USB
\`\`\`

The SDK's modules and the declaration format: node_modules/canopy/docs/sdk.md.
`,
  };
}
