// XS devices sized like an ESP32: the worker starts small, and once the firmware has loaded its
// heap is fixed at the ESP32's creation (78,848 chunk bytes, 4,928 slots) plus the bridge's share.
// An app that outgrows it aborts "memory full", as on the board, and the host says which limit.
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_HEAP, ESP32_HEAP } from '../host/xs/device-heap.ts';
import { XsWorker, XsWorkerExit } from '../host/xs/worker.ts';

describe('XS worker with a device-sized heap', () => {
  let worker: XsWorker | undefined;
  afterEach(async () => {
    await worker?.kill();
    worker = undefined;
  });

  async function sealed(): Promise<XsWorker> {
    worker = new XsWorker({ name: 'heap', heap: DEVICE_HEAP });
    // Stands in for the firmware: loaded before the seal, so it does not count against the app.
    await worker.evaluate('globalThis.firmware = Array.from({ length: 3000 }, (_, i) => ({ i, s: "x".repeat(64) }))');
    const free = await worker.sealHeap();
    expect(free.chunks).toBeGreaterThanOrEqual(DEVICE_HEAP.chunks);
    expect(free.chunks).toBeLessThan(DEVICE_HEAP.chunks + 2048);
    expect(free.slots).toBeGreaterThanOrEqual(DEVICE_HEAP.slots - 16);
    expect(free.slots).toBeLessThan(DEVICE_HEAP.slots + 1024);
    expect(free.slotsUsed).toBeGreaterThan(3000); // the "firmware" is there, outside the budget
    return worker;
  }

  it('gives the app what an ESP32 gives it: 70 KB of buffers fit', async () => {
    const w = await sealed();
    await w.evaluate('globalThis.keep = []; for (let i = 0; i < 70; i++) keep.push(new ArrayBuffer(1000))');
    // Garbage is collected, not counted: allocating and dropping far more than the budget is fine.
    await w.evaluate('for (let i = 0; i < 2000; i++) new ArrayBuffer(1000)');
    expect(w.alive).toBe(true);
  });

  it('a guest that keeps more chunk bytes than the budget aborts, and the error names the limit', async () => {
    const w = await sealed();
    const err = await w.evaluate('globalThis.keep = []; for (let i = 0; i < 200; i++) keep.push(new ArrayBuffer(1000))').catch((e) => e);
    expect(err).toBeInstanceOf(XsWorkerExit);
    expect((err as XsWorkerExit).code).toBe(11);
    expect((err as Error).message).toMatch(/E_NOT_ENOUGH_MEMORY: the app outgrew its device heap \(103424 chunk bytes and 5440 slots free .*78,848 B and 4,928 slots/);
    expect(w.alive).toBe(false);
  });

  it('so does one that keeps more objects than the slot budget', async () => {
    const w = await sealed();
    const err = await w.evaluate(`globalThis.keep = []; for (let i = 0; i < ${2 * ESP32_HEAP.slots}; i++) keep.push({ i })`).catch((e) => e);
    expect((err as XsWorkerExit).code).toBe(11);
    expect((err as Error).message).toMatch(/outgrew its device heap/);
  });

  it('without a heap option the worker is xsnap’s own and has no seal', async () => {
    worker = new XsWorker({ name: 'unbounded' });
    await expect(worker.sealHeap()).rejects.toThrow(/started without a device heap/);
  });
});
