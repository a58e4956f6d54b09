// An in-memory digital output with the embedded:io/digital shape, for builds without GPIO (lin in
// mcsim, the simulator) and tests: the app's relay code runs unchanged, the level is kept here.
import type { DigitalOutput, DigitalOutputOptions } from '../../io';

export class MemoryOutput implements DigitalOutput {
  static readonly Output = 'output';
  readonly pin: number;
  /** The level last written (per instance: a preloaded module's own objects are read-only). */
  level = 0;

  constructor(options: DigitalOutputOptions) {
    if (options.mode !== MemoryOutput.Output) throw new Error('MemoryOutput: mode must be Output');
    this.pin = options.pin;
  }

  write(value: number): void {
    this.level = value ? 1 : 0;
  }

  close(): void {}
}
