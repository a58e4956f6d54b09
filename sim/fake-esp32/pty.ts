// A FakeEsp32 behind a real pseudo-terminal pair made by socat, so the OS serial path (serialport's
// bindings-cpp, termios, the CLI's --port) is exercised. A pty has no modem lines and no baud rate:
// the fake starts in download mode, as a board whose BOOT button is held.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { FakeEsp32 } from './rom.ts';

const SOCAT = ['/usr/bin/socat', 'socat'];

export function findSocat(): string {
  for (const bin of SOCAT) if (!spawnSync(bin, ['-V']).error) return bin;
  throw new Error('socat is not installed, and the pty flashing tests need it: `apt-get install -y socat` (.ci/run does this)');
}

export class PtyPair {
  readonly dir = mkdtempSync(join(tmpdir(), 'canopy-pty-'));
  /** The end `canopy flash --port` opens. */
  readonly host = join(this.dir, 'ttyHOST');
  /** The end the fake chip sits on. */
  readonly device = join(this.dir, 'ttyDEVICE');
  private child: ChildProcess | undefined;
  private port: SerialPort | undefined;
  private stderr = '';

  async start(): Promise<this> {
    const bin = findSocat();
    // -d -d makes socat say when both ends exist; that line, not a delay, is the start signal.
    this.child = spawn(bin, ['-d', '-d', `pty,raw,echo=0,link=${this.host}`, `pty,raw,echo=0,link=${this.device}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      this.child?.stderr?.on('data', (d: Buffer) => {
        this.stderr += d.toString();
        if (/starting data transfer loop/.test(this.stderr) && existsSync(this.host) && existsSync(this.device)) resolve();
      });
      this.child?.once('exit', (code) => reject(new Error(`socat exited (${code}) before the pty pair was ready:\n${this.stderr}`)));
      this.child?.once('error', reject);
    });
    return this;
  }

  /** Connects a fake chip to the device end. */
  async attach(chip: FakeEsp32): Promise<void> {
    const port = new SerialPort({ path: this.device, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (d: Buffer) => chip.receive(new Uint8Array(d)));
    chip.transmit = (bytes) => {
      if (port.isOpen) port.write(Buffer.from(bytes));
    };
    this.port = port;
  }

  /** Writes raw bytes from the device end, as a running firmware's log. */
  async print(text: string): Promise<void> {
    const port = this.port;
    if (!port) throw new Error('PtyPair.print before attach');
    await new Promise<void>((resolve, reject) => port.write(text, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {
    const port = this.port;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    const child = this.child;
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
