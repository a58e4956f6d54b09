// `canopy broker`: the embedded aedes broker on its own, for pointing devices or the simulator at.
import type { Command } from '../command.ts';
import { parseFlags, intFlag } from '../../host/flags.ts';
import { EmbeddedBroker } from '../../host/broker.ts';

const command: Command = {
  summary: 'run the embedded MQTT broker (aedes) on loopback',
  usage: `Usage: canopy broker [--host ADDR] [--port N]

  --host ADDR   address to listen on (default 127.0.0.1)
  --port N      port (default 1883; 0 for any free port)`,
  async run(args) {
    const { values } = parseFlags(args, { host: { type: 'string' }, port: { type: 'string' } });
    const broker = await new EmbeddedBroker({ host: values.host, port: intFlag('port', values.port, 1883, 0, 65535) }).start();
    console.log(`broker listening on ${broker.url} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await broker.stop();
    return 0;
  },
};

export default command;
