// The outbox's flash area on lin (mcsim), which has no `flash` module: a file the size of the
// ESP32 partition (16 sectors of 4 KB), read and written like NOR flash through Moddable's `file`
// module (modules/files/file). It lives in /tmp like lin's preferences, and survives a kill -9:
// the lin file module flushes every write.
import { File } from 'file';
import type { FlashArea } from 'protocol/session/outbox-log';

const BLOCK = 4096;
const SECTORS = 16;

export function outboxArea(path = '/tmp/canopy-outbox.bin'): FlashArea {
  const file = new File(path, true);
  const erased = new Uint8Array(BLOCK).fill(0xff).buffer;
  // A new (or short) file reads as erased flash.
  for (let s = Math.floor(file.length / BLOCK); s < SECTORS; s++) {
    file.position = s * BLOCK;
    file.write(erased);
  }
  return {
    byteLength: SECTORS * BLOCK,
    blockSize: BLOCK,
    read(offset, byteLength) {
      file.position = offset;
      return file.read(ArrayBuffer, byteLength);
    },
    write(offset, byteLength, buffer) {
      file.position = offset;
      file.write(byteLength === buffer.byteLength ? buffer : buffer.slice(0, byteLength));
    },
    erase(sector) {
      file.position = sector * BLOCK;
      file.write(erased);
    },
  };
}
