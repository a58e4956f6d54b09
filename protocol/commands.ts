// Commands a device obeys on its command topic: a CBOR map {0: code, ?1: argument, ?2: argument}.
// set-output drives an app's digital output (a relay): {0: 4, 1: output 0..15, 2: true | false |
// null}, null handing the output back to the app's own rules (automatic).
import { decode, encode, type CborValue } from './cbor/index';

export type Command =
  | { kind: 'set-interval'; ms: number }
  | { kind: 'sample-now' }
  | { kind: 'reboot' }
  /** on: true/false forces the output; null returns it to the app's rules. */
  | { kind: 'set-output'; output: number; on: boolean | null };

export const CommandCode = { 'set-interval': 1, 'sample-now': 2, reboot: 3, 'set-output': 4 } as const;

/** Most outputs an app can address (0..MAX_OUTPUT). */
export const MAX_OUTPUT = 15;

export class CommandError extends Error {
  override name = 'CommandError';
}

const MIN_INTERVAL = 1000;
const MAX_INTERVAL = 86_400_000;

export function encodeCommand(c: Command): Uint8Array {
  const m = new Map<CborValue, CborValue>([[0, CommandCode[c.kind]]]);
  if (c.kind === 'set-interval') m.set(1, checkInterval(c.ms));
  if (c.kind === 'set-output') {
    m.set(1, checkOutput(c.output));
    if (c.on !== true && c.on !== false && c.on !== null) throw new CommandError('set-output needs on: true, false or null');
    m.set(2, c.on);
  }
  return encode(m);
}

export function decodeCommand(bytes: Uint8Array): Command {
  let v: CborValue;
  try {
    v = decode(bytes, { floats: false, maxDepth: 1 });
  } catch (err) {
    throw new CommandError(`command is not valid CBOR: ${(err as Error).message}`);
  }
  if (!(v instanceof Map)) throw new CommandError('command must be a CBOR map');
  const code = v.get(0);
  for (const k of v.keys()) if (k !== 0 && k !== 1 && !(k === 2 && code === 4)) throw new CommandError(`unknown command key ${String(k)}`);
  switch (code) {
    case 1: {
      const ms = v.get(1);
      if (typeof ms !== 'number') throw new CommandError('set-interval needs an integer argument (ms)');
      return { kind: 'set-interval', ms: checkInterval(ms) };
    }
    case 2:
    case 3:
      if (v.has(1)) throw new CommandError(`command ${code} takes no argument`);
      return code === 2 ? { kind: 'sample-now' } : { kind: 'reboot' };
    case 4: {
      const output = v.get(1);
      const on = v.get(2);
      if (typeof output !== 'number') throw new CommandError('set-output needs an output number (key 1)');
      if (on !== true && on !== false && on !== null) throw new CommandError('set-output needs on: true, false or null (key 2)');
      return { kind: 'set-output', output: checkOutput(output), on };
    }
    default:
      throw new CommandError(`unknown command code ${String(code)}`);
  }
}

function checkInterval(ms: number): number {
  if (!Number.isInteger(ms) || ms < MIN_INTERVAL || ms > MAX_INTERVAL) {
    throw new CommandError(`interval must be an integer ${MIN_INTERVAL}..${MAX_INTERVAL} ms, got ${ms}`);
  }
  return ms;
}

function checkOutput(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_OUTPUT) throw new CommandError(`output must be an integer 0..${MAX_OUTPUT}, got ${n}`);
  return n;
}
