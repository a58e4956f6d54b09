// Seeded randomness for simulated devices: xsnap's Math.random starts from the same seed in every
// worker, and simulator runs must repeat exactly for a given --seed.

/** mulberry32: tiny, fast, good enough for jitter and sensor noise (not for keys). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Simulated free heap and Wi-Fi RSSI for the simulator's two engines, drawn from their own seeded
 * stream (the platform's `random` drives reconnect jitter, which must not shift when health is
 * read). Values near an ESP32 running Canopy: ~150-170 KB free, -45..-75 dBm.
 */
export function simulatedHealth(seed: number): () => { freeHeap: number; rssi: number } {
  const r = seededRandom(seed ^ 0x5eed4ea1);
  return () => ({ freeHeap: 150_000 + Math.floor(r() * 20_000), rssi: -45 - Math.floor(r() * 30) });
}
