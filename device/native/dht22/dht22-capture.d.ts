// Types for device/native/dht22/dht22-capture (dht22-capture.js + dht22-capture.c, ESP32 only). Ambient, so the
// same file serves `npm run typecheck` (device/ is included) and mcconfig (which maps the module
// specifier to this file when the manifest in this folder is included).
declare module 'device/native/dht22/dht22-capture' {
  export default class Dht22Capture {
    /**
     * Claims `pin` for the DHT22 data line: an RMT RX channel (1 µs resolution) on the pin, and the
     * pin as open-drain output with the internal pull-up so the host can pull the line low.
     * Throws RangeError("invalid pin" | "in use" | "pin required"), Error("no RMT RX channel").
     */
    constructor(options: { pin: number });
    /**
     * One transaction: pulls the line low for 1.1 ms, arms the receiver, releases the line, and
     * waits ≤ 20 ms for the sensor's answer. Returns the width in µs (saturated at 255) of every
     * level after the line's release, without the final end-of-frame low:
     *   [response low ≈80, response high ≈80, then per bit: low ≈50, high ≈26 (0) | ≈70 (1)]
     * — 82 bytes for a complete frame, fewer (down to 0) when the sensor does not answer or stops.
     * Blocks the caller for the frame (≈ 6 ms). Throws Error("rmt receive failed") if the RMT
     * channel cannot be armed.
     */
    read(): Uint8Array;
    /** Frees the RMT channel and the pin. */
    close(): void;
  }
}
