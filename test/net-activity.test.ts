// Virtual time waits for the network to go quiet; what counts is the run's own NetActivity,
// passed to its sockets, so a socket of another run (or a test) cannot hold it up or hurry it.
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { NetActivity, openDeviceSocket } from '../host/device-socket.ts';
import { networkQuiet } from '../sim/runner.ts';

describe('NetActivity', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  it('counts the events of the sockets it was given, and only those', async () => {
    broker = await new EmbeddedBroker({ port: 0 }).start();
    const mine = new NetActivity();
    const other = new NetActivity();
    const connected = new Promise<void>((resolve, reject) => {
      const s = openDeviceSocket('127.0.0.1', broker!.port, false, { onConnect: () => (s.close(), resolve()), onData: () => {}, onClose: (r) => reject(new Error(r)) }, mine);
    });
    await connected;
    expect(mine.count).toBeGreaterThan(0);
    expect(other.count).toBe(0);
    await networkQuiet(other, 1, 1000); // nothing of its own moves: returns at once
  });
});
