// SLIP framing as the ESP ROM loader speaks it (esptool docs, serial-protocol.rst): frames start
// and end with 0xC0; inside, 0xC0 is sent as DB DC and 0xDB as DB DD. Written here from the spec on
// purpose: the fake must not share a framing bug with the esptool-js code it is testing.

const END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

export function slipEncode(frame: Uint8Array): Uint8Array {
  const out: number[] = [END];
  for (const b of frame) {
    if (b === END) out.push(ESC, ESC_END);
    else if (b === ESC) out.push(ESC, ESC_ESC);
    else out.push(b);
  }
  out.push(END);
  return Uint8Array.from(out);
}

/** Incremental decoder; bytes outside a frame (boot log noise, line garbage) are dropped. */
export class SlipDecoder {
  private frame: number[] | undefined;
  private escaping = false;
  /** Frames with an escape byte followed by anything but DC/DD: the ROM drops these silently. */
  malformed = 0;

  push(bytes: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const b of bytes) {
      if (b === END) {
        // Two ENDs in a row are an empty frame: the end of one and the start of the next.
        if (this.frame && this.frame.length > 0) frames.push(Uint8Array.from(this.frame));
        this.frame = [];
        this.escaping = false;
      } else if (!this.frame) {
        continue;
      } else if (this.escaping) {
        this.escaping = false;
        if (b === ESC_END) this.frame.push(END);
        else if (b === ESC_ESC) this.frame.push(ESC);
        else {
          this.malformed++;
          this.frame = undefined;
        }
      } else if (b === ESC) {
        this.escaping = true;
      } else {
        this.frame.push(b);
      }
    }
    return frames;
  }
}
