// Entry of the device bundle for the simulator's XS engine: the same DeviceApp as the firmware,
// on the bridge platform. The host (host/xs/device-host.ts) answers "dev" {op: 'config'} with
// the device's config and seed, and drives the app over the "app" channel.
import { utf8Decode, utf8Encode } from '../protocol/utf8';
import { DeviceApp } from './app/device-app';
import { objectSource, resolveConfig } from './config';
import { callHost, registerChannel } from './platform/xs-bridge';
import { createXsnapPlatform } from './platform/xsnap';

interface Boot {
  config: Record<string, unknown>;
  seed: number;
}

const boot = JSON.parse(utf8Decode(callHost('dev', utf8Encode('{"op":"config"}')))) as Boot;
const platform = createXsnapPlatform(boot.seed);
const config = resolveConfig(objectSource(boot.config), { get: (key) => platform.storage.get(key) });
const report = (event: unknown) => callHost('dev', utf8Encode(JSON.stringify({ op: 'event', event })));
// The simulator checks delivery against what the firmware produced, so it hears of every sample.
const app = new DeviceApp({
  platform,
  config,
  onEvent: (e) => {
    if (e.type === 'sample') report({ type: 'sample', seq: e.sample.seq, qos: config.qos });
    else if (e.type === 'error') report({ type: 'error', message: e.message });
  },
});

registerChannel('app', (payload) => {
  const request = JSON.parse(utf8Decode(payload)) as { op: string };
  switch (request.op) {
    case 'stop':
      app.stop(() => callHost('dev', utf8Encode('{"op":"stopped"}')));
      return;
    case 'sample':
      app.sampleNow();
      return;
    case 'stats':
      return utf8Encode(JSON.stringify(app.status));
    default:
      throw new Error(`unknown app op "${request.op}"`);
  }
});

app.start();
