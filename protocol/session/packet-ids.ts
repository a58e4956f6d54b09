// MQTT packet ids (MQTT-2.3.1): 1..65535, never 0, and never one still held by an unacknowledged
// PUBLISH, SUBSCRIBE or UNSUBSCRIBE. Handed out in rotation, so a late ack for an old id is
// unlikely to meet a new packet that reused it.

export class PacketIds {
  private next = 1;

  /** An id restored from the store after a reboot: continue after it. */
  restored(id: number): void {
    if (id >= this.next) this.next = (id % 65535) + 1;
  }

  /** The next id for which `inUse` is false. */
  allocate(inUse: (id: number) => boolean): number {
    for (let tries = 0; tries < 65535; tries++) {
      const id = this.next;
      this.next = id === 65535 ? 1 : id + 1;
      if (!inUse(id)) return id;
    }
    throw new Error('all 65535 packet ids are in use');
  }
}
