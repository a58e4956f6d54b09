export async function pushCommand(_args: string[]): Promise<number> {
  throw new Error('push is not built yet');
}
