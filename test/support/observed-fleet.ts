// The frame of a test with simulated devices on a real broker: the broker started once, an
// observer client subscribed to the whole prefix, every booted device power-cut after each test,
// and the real clock's timers cancelled at the end.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { RealClock } from '../../host/xs/timers.ts';
import { TestClient } from './clients.ts';

export interface TestBroker {
  start(): Promise<unknown>;
  readonly url: string;
}

export interface ObservedFleet<D> {
  /** Connected and subscribed to `canopy/#` once the suite's beforeAll has run. */
  readonly observer: TestClient;
  /** Push every device a test boots: each is power-cut after the test. */
  readonly devices: D[];
  readonly clock: RealClock;
}

export function observedFleet<D extends { powerCut(): Promise<void> }>(broker: TestBroker, stopBroker: () => Promise<void>, clientId: string): ObservedFleet<D> {
  const clock = new RealClock();
  const devices: D[] = [];
  let observer: TestClient | undefined;
  beforeAll(async () => {
    await broker.start();
    observer = await new TestClient(broker.url, { clientId, cleanSession: true }).connect();
    await observer.subscribe('canopy/#', 1);
  });
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.powerCut()));
  });
  afterAll(async () => {
    await observer?.driver.stop();
    clock.cancelAll();
    await stopBroker();
  });
  return {
    get observer() {
      if (!observer) throw new Error('the observer connects in beforeAll');
      return observer;
    },
    devices,
    clock,
  };
}
