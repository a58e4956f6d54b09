// What every `canopy` verb module exports as its default. Its own module so that cli/main.ts
// (which loads the verbs) and the verbs (which implement it) do not import each other.
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}
