// One run of the simulator memory benchmark (bench/sim-memory.bench.ts), in its own process started
// with --expose-gc: a V8-engine fleet at one QoS 1 sample per second per device, in real time,
// against the broker given. Prints JSON: RSS and the heap left after a full GC, once the fleet is up
// and again near the end, with the messages seen in between. `seconds` are wall-clock seconds; at
// `speed` > 1 device time runs that much faster (a ScaledClock), so a minute covers half an hour. `root` is the checkout whose simulator
// is measured, so a before and an after can run on the same machine.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface MemoryResult {
  devices: number;
  seconds: number;
  messages: number;
  start: { rssKb: number; heapKb: number; messages: number };
  end: { rssKb: number; heapKb: number; messages: number };
}

const [root, broker, devicesText, secondsText, speedText] = process.argv.slice(2);
const devices = Number(devicesText);
const seconds = Number(secondsText);
/** Device time runs this many times faster than the wall clock (1: real time). */
const speed = Number(speedText ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function sample(messages: number): { rssKb: number; heapKb: number; messages: number } {
  gc!();
  const m = process.memoryUsage();
  return { rssKb: Math.round(m.rss / 1024), heapKb: Math.round(m.heapUsed / 1024), messages };
}

void (async () => {
  const { runSimulation } = (await import(pathToFileURL(join(root, 'sim/runner.ts')).href)) as typeof import('../sim/runner.ts');
  let messages = 0;
  let start: MemoryResult['start'] | undefined;
  let end: MemoryResult['end'] | undefined;
  const timers: NodeJS.Timeout[] = [];
  await runSimulation({
    brokerUrl: broker,
    scenario: {
      name: 'memory',
      engine: 'node',
      seed: 1,
      durationMs: seconds * 1000 * speed,
      epoch: 1_780_272_000,
      time: { kind: 'real', speed },
      groups: [{ count: devices, prefix: 'sim', intervalMs: 1000, qos: 1, keepalive: 30, dhtErrorRate: 0.005, motionPerHour: 6 }],
      faults: [],
      assertions: [{ type: 'delivered' }],
    },
    onObservation: () => void messages++,
    onStarted: () => {
      // "Up" ten seconds in (every device has booted and sent a few), the end two seconds before it.
      timers.push(setTimeout(() => (start = sample(messages)), Math.min(10_000, seconds * 250)));
      timers.push(setTimeout(() => (end = sample(messages)), Math.max(seconds * 500, seconds * 1000 - 2000)));
    },
  });
  for (const t of timers) clearTimeout(t);
  if (!start || !end) throw new Error('the run ended before both memory samples');
  const result: MemoryResult = { devices, seconds, messages, start, end };
  process.stdout.write(JSON.stringify(result));
})();
