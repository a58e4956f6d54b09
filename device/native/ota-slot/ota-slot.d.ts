// Types for device/native/ota-slot/ota-slot (ota-slot.js + ota-slot.c, ESP32 only); see ota-slot.c for what each
// call does in ESP-IDF terms.
declare module 'device/native/ota-slot/ota-slot' {
  const OtaSlot: {
    slotSize(): number;
    begin(size: number): void;
    resume(): void;
    write(offset: number, bytes: Uint8Array): void;
    read(offset: number, length: number): ArrayBuffer;
    complete(): void;
    abort(): void;
    /** 1 while the running image is pending verification, else 0. */
    state(): number;
    markValid(): void;
    /** Marks the running image invalid and reboots into the previous one; returns only on failure. */
    rollback(): void;
  };
  export default OtaSlot;
}
