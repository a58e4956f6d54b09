// `canopy broker`: the embedded aedes broker on its own, for pointing devices or the simulator at.
import type { Command } from '../command.ts';
import { intFlag, parse, verb } from '../flags.ts';
import { EmbeddedBroker } from '../../host/broker.ts';

const spec = verb({
  name: 'broker',
  summary: 'Runs the embedded MQTT broker (aedes) until Ctrl-C, for pointing devices or the simulator at.',
  flags: {
    host: { type: 'string', value: 'ADDR', help: 'address to listen on (default 127.0.0.1)' },
    port: { type: 'string', value: 'N', help: 'port (default 1883; 0 for any free port)' },
  },
  examples: ['broker', 'broker --host 0.0.0.0 --port 1884   # reachable from boards on the LAN'],
});

const command: Command = {
  spec,
  async run(args) {
    const { values } = parse(spec, args);
    const broker = await new EmbeddedBroker({ host: values.host, port: intFlag('port', values.port, 1883, 0, 65535) }).start();
    console.log(`broker listening on ${broker.url} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await broker.stop();
    return 0;
  },
};

export default command;
