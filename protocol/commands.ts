// Commands a device obeys on its command topic: a CBOR map {0: code, ?1: argument}.
import { decode, encode, type CborValue } from './cbor/index';

export type Command = { kind: 'set-interval'; ms: number } | { kind: 'sample-now' } | { kind: 'reboot' };

export const CommandCode = { 'set-interval': 1, 'sample-now': 2, reboot: 3 } as const;

export class CommandError extends Error {
  override name = 'CommandError';
}

const MIN_INTERVAL = 1000;
const MAX_INTERVAL = 86_400_000;

export function encodeCommand(c: Command): Uint8Array {
  const m = new Map<CborValue, CborValue>([[0, CommandCode[c.kind]]]);
  if (c.kind === 'set-interval') m.set(1, checkInterval(c.ms));
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
  for (const k of v.keys()) if (k !== 0 && k !== 1) throw new CommandError(`unknown command key ${String(k)}`);
  const code = v.get(0);
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
