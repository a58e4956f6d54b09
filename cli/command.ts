// What every `canopy` verb module exports as its default. Its own module so that cli/main.ts
// (which loads the verbs) and the verbs (which implement it) do not import each other.
import type { VerbSpec } from './flags.ts';

export interface Command {
  /** Flags, forms and examples: what `canopy VERB --help` prints and what the verb parses. */
  spec: VerbSpec;
  /** A verb with verbs of its own (ota): theirs, for `canopy ota push --help` and error hints. */
  subverbs?: Record<string, VerbSpec>;
  run(args: string[]): Promise<number>;
}
