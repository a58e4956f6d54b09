// The firmware's native C modules compile only in an ESP32 build, which needs ESP-IDF; nothing else
// in npm test compiles them. Against the SDK's own headers: test/moddable/native-c.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { relative } from 'node:path';
import { clash, cleanNativeScratch, nativeRoot as root, natives, oldOtaSlot, otaSlot, standIns, syntaxCheck } from './support/native-c.ts';

afterAll(cleanNativeScratch);

describe('native C modules compile against the XS headers (gcc -fsyntax-only)', () => {
  it('finds both native modules', () => {
    expect(natives.map((f) => relative(root, f))).toEqual([
      'device/native/dht22/dht22-capture.c',
      'device/native/ota-slot/ota-slot.c',
    ]);
  });

  for (const file of natives) {
    it(`${relative(root, file)} with ${standIns.name}`, () => {
      const r = syntaxCheck(file, standIns);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('rejects a module that redeclares an SDK global as static (the old ota-slot.c)', () => {
    const r = syntaxCheck(otaSlot, standIns, oldOtaSlot());
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(clash);
  });
});
