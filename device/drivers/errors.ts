// One error class for every sensor driver, with a reason code a program can switch on and a
// message a person can act on ("BH1750 did not acknowledge at 0x23 — check wiring/ADDR pin").

export type SensorReason =
  /** Nothing answered where the sensor should be (NACK, no response pulse, pin unusable). */
  | 'absent'
  /** The bus failed on a sensor that had answered before (I2C NACK mid-run, capture error). */
  | 'bus'
  /** DHT22: no complete, well-formed frame (no answer, cut short, extra pulses, pulse out of window). */
  | 'timeout'
  /** DHT22: the frame's checksum byte does not match its data. */
  | 'checksum'
  /** A value outside what the sensor can measure. */
  | 'range'
  /** An option the driver cannot accept. */
  | 'config'
  /** A method called after close(). */
  | 'closed';

export class SensorError extends Error {
  override name = 'SensorError';
  /** Which driver raised it: 'DHT22', 'BH1750', 'LDR', 'PIR', 'Relay'. */
  readonly sensor: string;
  readonly reason: SensorReason;

  constructor(sensor: string, reason: SensorReason, message: string) {
    super(message);
    this.sensor = sensor;
    this.reason = reason;
  }
}

/** The message of whatever a platform IO threw, for wrapping into a SensorError. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function closedError(sensor: string): SensorError {
  return new SensorError(sensor, 'closed', `${sensor} driver used after close()`);
}
