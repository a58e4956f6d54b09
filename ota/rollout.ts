export async function rolloutCommand(_args: string[]): Promise<number> {
  throw new Error('rollout is not built yet');
}
