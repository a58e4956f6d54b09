// Globals that xsnap-worker (@agoric/xsnap 0.15, XS 13.3) installs in the guest, as defined in its
// xsnap-worker.c. Only code meant to run on the host's XS worker should rely on these; on an ESP32
// the Moddable runtime provides a different set (see device/platform/xs-bridge.ts).

export {};

declare global {
  /** Sends bytes to the host and blocks until it answers. Takes an ArrayBuffer, not a view. */
  function issueCommand(request: ArrayBuffer): ArrayBuffer;
  /**
   * Set by the guest: called for every host `issueCommand`. Must return an ArrayBuffer (anything
   * else becomes an empty reply). Promise jobs and setImmediate callbacks run before the reply.
   */
  var handleCommand: ((request: ArrayBuffer) => ArrayBuffer | void) | undefined;
  /** Writes its arguments, space-separated, as one line on the worker's stdout. */
  function print(...values: unknown[]): void;
  /** Forces a full garbage collection. */
  function gc(): void;
  /** Runs `callback` after the current job, before the host gets its reply. A throw kills the worker. */
  function setImmediate(callback: () => void): void;
  /** Freezes an object graph (SES-style). */
  function harden<T>(value: T): T;
  /** Remaining compute units of the current request, or 0 when unmetered. */
  function currentMeterLimit(): number;
  /** Sets the meter limit and index; returns the previous index. */
  function resetMeter(newLimit: number, newIndex: number): number;
  var performance: { now(): number };
}
