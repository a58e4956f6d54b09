// One spec per `canopy` verb: its flags (type, value name, help), its forms and its examples. The
// same object parses the command line (node:util parseArgs, strict) and writes `--help`, so a flag
// cannot be accepted without being documented, or documented without being accepted.
import { parseFlags } from '../host/flags.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Repeatable: the values come back as a list. */
  multiple?: boolean;
  /** The value's name in the help, e.g. URL, FILE, N. */
  value?: string;
  help: string;
}

export interface VerbSpec<F extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  /** As typed: "broker", "ota push". */
  name: string;
  /** One line; the verb table's line when absent. */
  summary?: string;
  /** What follows the verb, one form a line; default "[flags]". */
  forms?: string[];
  /** Positional arguments, when the verb takes any: their help rows. */
  args?: Record<string, string>;
  description?: string;
  flags: F;
  /** Command lines (without the leading `canopy`), each optionally with a `# comment`. */
  examples: string[];
  notes?: string;
}

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean' ? boolean | undefined : S['multiple'] extends true ? string[] | undefined : string | undefined;
export type FlagValues<F extends Record<string, FlagSpec>> = { [K in keyof F]: FlagValue<F[K]> };

/** Keeps the flag names and types literal, so parsed values are typed from the spec. */
export function verb<const F extends Record<string, FlagSpec>>(spec: VerbSpec<F>): VerbSpec<F> {
  return spec;
}

export function parse<F extends Record<string, FlagSpec>>(spec: VerbSpec<F>, args: string[]): { values: FlagValues<F>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(spec.flags)) options[name] = f.multiple ? { type: f.type, multiple: true } : { type: f.type };
  const r = parseFlags(args, options, spec.args !== undefined);
  return { values: r.values as FlagValues<F>, positionals: r.positionals };
}

function table(rows: [string, string][]): string[] {
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, r]) => (l.length + 2 > width ? `  ${l}\n  ${' '.repeat(width)}${r}` : `  ${l.padEnd(width)}${r}`));
}

export function usageText(spec: VerbSpec): string {
  const lines = (spec.forms ?? ['[flags]']).map((f, i) => `${i === 0 ? 'Usage: ' : '       '}canopy ${spec.name} ${f}`);
  lines.push('', spec.description ?? spec.summary ?? '');
  if (spec.args) lines.push('', ...table(Object.entries(spec.args)));
  const flags = Object.entries(spec.flags).map(([name, f]): [string, string] => [`--${name}${f.value ? ` ${f.value}` : ''}`, f.help + (f.multiple ? ' (repeatable)' : '')]);
  if (flags.length) lines.push('', 'Flags:', ...table(flags));
  lines.push('', 'Examples:', ...spec.examples.map((e) => `  npx canopy ${e}`));
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

export { UsageError, intFlag } from '../host/flags.ts';
