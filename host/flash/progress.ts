// Progress and summary text for `canopy flash`: pure functions from numbers to lines, so what a
// person sees is tested without a terminal.

import { hex } from '../../protocol/ota/le.ts';
import type { FlashReport } from './flasher.ts';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** "bootloader.bin   0x1000  [##########..........]  50%  7.5/15.0 KiB" */
export function progressLine(name: string, address: number, sent: number, total: number, width = 24): string {
  const fraction = total > 0 ? Math.min(1, sent / total) : 1;
  const filled = Math.round(fraction * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${name.padEnd(24)} ${hex(address).padStart(8)}  [${bar}] ${pct}  ${kib(sent)}/${kib(total)}`;
}

export function summaryLines(report: FlashReport): string[] {
  const lines = [
    `${report.chip}${report.description ? ` ${report.description}` : ''}${report.mac ? `, MAC ${report.mac}` : ''}${report.flashSize ? `, ${report.flashSize} flash` : ''} on ${report.port} at ${report.baud} baud`,
  ];
  for (const f of report.files) {
    const ratio = f.bytes ? ` (${Math.round((100 * f.compressedBytes) / f.bytes)}% on the wire)` : '';
    lines.push(`  ${hex(f.address).padStart(8)}  ${f.name.padEnd(24)} ${String(f.bytes).padStart(8)} bytes${ratio}  ${f.seconds.toFixed(2)} s  ${f.verified ? `verified md5 ${f.md5}` : 'not verified'}`);
  }
  lines.push(
    `wrote ${report.bytes} bytes (${report.compressedBytes} sent) in ${report.seconds.toFixed(2)} s; ${report.verified ? 'all files verified' : 'verification skipped (--no-verify)'}`,
  );
  return lines;
}
