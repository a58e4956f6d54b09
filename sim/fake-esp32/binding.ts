// A serialport binding whose far end is a FakeEsp32 in this process: the real serialport stream
// code and Canopy's Web Serial adapter run unchanged, only the OS driver is replaced. A port is
// plugged in under a path with a USB vendor/product id, as a CP2102 board would enumerate.

import type { FakeEsp32 } from './rom.ts';

export interface FakeUsbDevice {
  path: string;
  chip: FakeEsp32;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
}

interface OpenOptions {
  path: string;
  baudRate: number;
}

class CanceledError extends Error {
  canceled = true;
}

class FakePort {
  isOpen = true;
  readonly openOptions: Required<OpenOptions> & Record<string, unknown>;
  private inbox: Buffer[] = [];
  private pending: (() => void) | undefined;
  private baud: number;

  constructor(private readonly device: FakeUsbDevice, options: OpenOptions) {
    this.openOptions = { ...options } as Required<OpenOptions> & Record<string, unknown>;
    this.baud = options.baudRate;
    device.chip.transmit = (bytes) => {
      if (!this.isOpen) return;
      this.inbox.push(Buffer.from(this.garble(bytes)));
      this.pending?.();
    };
  }

  // A UART at the wrong rate reads framing garbage, not silence; enough to break SLIP.
  private garble(bytes: Uint8Array): Uint8Array {
    return this.baud === this.device.chip.baud ? bytes : bytes.map((b) => b ^ 0x5a);
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    while (this.inbox.length === 0) {
      if (!this.isOpen) throw new CanceledError('port is closed');
      await new Promise<void>((resolve) => (this.pending = resolve));
      this.pending = undefined;
    }
    if (!this.isOpen) throw new CanceledError('port is closed');
    const head = this.inbox[0];
    const n = head.copy(buffer, offset, 0, Math.min(length, head.length));
    if (n === head.length) this.inbox.shift();
    else this.inbox[0] = head.subarray(n);
    return { buffer, bytesRead: n };
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new CanceledError('port is closed');
    const bytes = new Uint8Array(buffer);
    // Delivered on a later turn, as a wire would, so replies never re-enter the writer's call.
    setImmediate(() => this.device.chip.receive(this.garble(bytes)));
  }

  async update(options: { baudRate: number }): Promise<void> {
    this.baud = options.baudRate;
    this.openOptions.baudRate = options.baudRate;
  }

  async set(options: { dtr?: boolean; rts?: boolean }): Promise<void> {
    this.device.chip.setSignals({ dtr: options.dtr, rts: options.rts });
  }

  async get() {
    return { cts: false, dsr: false, dcd: false };
  }

  async getBaudRate() {
    return { baudRate: this.baud };
  }

  async flush(): Promise<void> {
    this.inbox = [];
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    this.isOpen = false;
    this.device.chip.transmit = () => {};
    this.pending?.();
  }
}

/** A serialport `binding` serving the given fake devices; paths not plugged in fail like the OS does. */
export function fakeBinding(devices: FakeUsbDevice[]) {
  const open = new Set<string>();
  return {
    async list() {
      return devices.map((d) => ({
        path: d.path,
        manufacturer: d.manufacturer,
        serialNumber: undefined,
        pnpId: undefined,
        locationId: undefined,
        vendorId: d.vendorId,
        productId: d.productId,
      }));
    },
    async open(options: OpenOptions) {
      const device = devices.find((d) => d.path === options.path);
      // The same strings bindings-cpp builds from strerror on Linux.
      if (!device) throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
      if (open.has(options.path)) throw new Error('Error Resource temporarily unavailable Cannot lock port');
      open.add(options.path);
      const port = new FakePort(device, options);
      const close = port.close.bind(port);
      port.close = async () => {
        open.delete(options.path);
        await close();
      };
      return port;
    },
  };
}
