// The IO shapes the sensor drivers use, declared structurally. The drivers never import a Moddable
// module: the application passes the IO class in (ECMA-419 `options.sensor.io`), so the same driver
// runs over `embedded:io/*` on an ESP32, over a simulated sensor on `lin`, and over the scripted
// buses in test/support/scripted-io.ts. Each shape is the subset of @moddable/typings 5.6.0's
// declaration that the drivers call; test/drivers-io.test.ts holds the real declarations assignable
// to these, so a change on either side is a type error.

/** A constructor with the ECMA-419 `new io(options)` shape. */
export type IOClass<Options, Instance> = new (options: Options) => Instance;

// ---- embedded:io/digital ------------------------------------------------------------------------

export interface DigitalOptions {
  pin: number;
  /** One of the class's mode constants (Input, InputPullUp, InputPullDown). */
  mode: unknown;
  /** Digital.Rising | Digital.Falling: which edges call onReadable. */
  edge?: number;
  /** Called (in the JS thread, not the ISR) after an edge; read() gives the level now. */
  onReadable?: (this: DigitalInput) => void;
}

export interface DigitalInput {
  read(): number;
  close(): void;
}

export interface DigitalClass extends IOClass<DigitalOptions, DigitalInput> {
  readonly Input: unknown;
  readonly InputPullUp: unknown;
  readonly InputPullDown: unknown;
  readonly Rising: number;
  readonly Falling: number;
}

/** A digital output: the subset of `embedded:io/digital` opened with mode Output that a relay uses. */
export interface DigitalOutputOptions {
  pin: number;
  mode: unknown;
}

export interface DigitalOutput {
  write(value: number): void;
  close(): void;
}

export interface DigitalOutputClass extends IOClass<DigitalOutputOptions, DigitalOutput> {
  readonly Output: unknown;
}

// ---- embedded:io/analog -------------------------------------------------------------------------

export interface AnalogOptions {
  pin: number;
  resolution?: number;
}

export interface AnalogInput {
  /** Bits per reading; read() returns 0 … 2^resolution − 1. */
  readonly resolution: number;
  read(): number;
  /** ECMA-419 Analog has close(); @moddable/typings 5.6.0 omits it, hence optional here. */
  close?(): void;
}

export type AnalogClass = IOClass<AnalogOptions, AnalogInput>;

// ---- embedded:io/i2c ----------------------------------------------------------------------------

export interface I2COptions {
  data: number;
  clock: number;
  hz: number;
  address: number;
  port?: number;
}

export interface I2CDevice {
  /** Throws (Error "write failed" on Moddable ESP32) when the target does not acknowledge. */
  write(buffer: Uint8Array | ArrayBuffer, stop?: boolean): void;
  /** Throws (Error "read failed") when the target does not acknowledge. */
  read(byteLength: number, stop?: boolean): ArrayBuffer;
  /** ECMA-419 I2C has close(); @moddable/typings 5.6.0 omits it, hence optional here. */
  close?(): void;
}

export type I2CClass = IOClass<I2COptions, I2CDevice>;

// ---- device/native/dht22/dht22-capture (device/native/dht22) ---------------------------------------------------

export interface Dht22CaptureOptions {
  pin: number;
}

export interface Dht22Capture {
  /**
   * Starts one DHT22 transaction (host start pulse, then the sensor's answer) and returns the
   * widths in µs of every level of the answer, in line order:
   *
   *   [response low ≈80, response high ≈80, bit0 low ≈50, bit0 high ≈26|70, …, bit39 low, bit39 high]
   *
   * i.e. 82 widths for a complete frame. Not included: the host's start pulse, the line's release
   * high before the response, and the sensor's end-of-frame low after bit 39. A sensor that does
   * not answer gives an empty list; a frame cut short gives fewer widths. The native module
   * saturates widths at 255 µs (anything that long is already invalid).
   */
  read(): ArrayLike<number>;
  close(): void;
}

export type Dht22CaptureClass = IOClass<Dht22CaptureOptions, Dht22Capture>;

/** Milliseconds on a monotonic-enough clock; the drivers default to Date.now. */
export type Clock = () => number;
